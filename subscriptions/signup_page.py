"""The blank sign-up page, rendered once and kept: it is the busiest page and its form (15
topics, 500 time zones in groups) costs ~15 ms to render. What varies per visitor is the CSRF
token alone: the page is kept with a placeholder in its place, filled in on every answer.

Kept for PUBLIC_PAGE_CACHE_SECONDS under a key made of what the page shows that can change:
the trending list beside the form, and the topics' version, which every save or delete of a
topic renews (subscriptions.apps connects `topics_changed`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from config.near_cache import near_add, near_get, near_set

TEMPLATE = "subscriptions/signup.html"
TOKEN_PLACEHOLDER = "csrf-token-placeholder-7f3a9c1e5b"  # noqa: S105 - not a secret


TOPICS_VERSION_KEY = "signup-page:topics"


def _new_topics_version() -> None:
    near_set(TOPICS_VERSION_KEY, str(time.time_ns()), None)


def topics_changed(**kwargs: object) -> None:
    """A topic was saved or deleted: the kept pages show the old list (a signal receiver).
    A new version now, and again at commit (a page rendered in between from the data before
    the commit is then not reused)."""
    _new_topics_version()
    transaction.on_commit(_new_topics_version)


def _key(papers: list[dict[str, Any]]) -> str:
    version = near_get(TOPICS_VERSION_KEY)
    if version is None:
        version = near_add(TOPICS_VERSION_KEY, str(time.time_ns()), None)
    shown = repr((version, papers)).encode()
    return f"signup-page:{hashlib.blake2b(shown, digest_size=16).hexdigest()}"


def blank_signup_page(
    request: HttpRequest, context: Callable[[], dict[str, Any]], papers: list[dict[str, Any]]
) -> HttpResponse:
    """The sign-up page with an empty form (`context()` builds what the template needs), from
    the cache when the same page was rendered recently; the visitor's own CSRF token is put in."""
    timeout = int(settings.PUBLIC_PAGE_CACHE_SECONDS)
    if timeout <= 0:
        return HttpResponse(render_to_string(TEMPLATE, context(), request=request))
    key = _key(papers)
    html = near_get(key)
    if html is None:
        html = render_to_string(TEMPLATE, {**context(), "csrf_token": TOKEN_PLACEHOLDER}, request=request)
        near_set(key, html, timeout)
    return HttpResponse(html.replace(TOKEN_PLACEHOLDER, get_token(request)))
