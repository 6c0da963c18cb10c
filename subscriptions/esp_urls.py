"""anymail's webhook URLs (same paths and names), answering a malformed payload with 400.

anymail parses the ESP's body before any receiver runs; a body that is not the ESP's
JSON shape (only possible with the webhook secret) would otherwise be a 500.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailAPIError, AnymailConfigurationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, URLResolver

logger = logging.getLogger(__name__)

app_name = anymail_urls.app_name

# AnymailConfigurationError: e.g. an inbound message posted to a tracking URL (or an ESP whose
# webhook is not configured); AnymailAPIError: an SNS body that is not SNS (Amazon SES).
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    AnymailConfigurationError,
    AnymailAPIError,
)


def refuse_malformed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an anymail webhook view: a payload it cannot parse gets 400, not 500."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _MALFORMED as exc:
            logger.warning("Malformed ESP webhook on %s: %r", request.path, exc)
            return HttpResponseBadRequest("Malformed webhook payload.", content_type="text/plain")

    return wrapped


def _guarded(patterns: list[URLPattern | URLResolver]) -> list[URLPattern]:
    guarded = []
    for pattern in patterns:
        if not isinstance(pattern, URLPattern):
            raise TypeError(f"anymail's webhook URLs hold an include, not a view: {pattern!r}")
        guarded.append(
            URLPattern(
                pattern.pattern, refuse_malformed(pattern.callback), pattern.default_args, pattern.name
            )
        )
    return guarded


urlpatterns = _guarded(anymail_urls.urlpatterns)
