"""Server-side cache of the public pages that are the same for everyone (papers of a day or a
week, search results, the JSON API) and of the sign-up page's trending list.

Entries are keyed by the catalog's generation (digest.catalog.freshness), which changes with
every change to papers, matches or topics, so an editor's change shows at once; entries also
expire after PUBLIC_PAGE_CACHE_SECONDS, which bounds staleness should a write ever slip past.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from config.near_cache import near_get, near_set
from digest.catalog.freshness import generation

KEPT_HEADERS = ("Content-Type", "Cache-Control", "Last-Modified", "X-Robots-Tag")
T = TypeVar("T")
View = Callable[..., HttpResponse]


def _timeout() -> int:
    return int(settings.PUBLIC_PAGE_CACHE_SECONDS)


def cached_value(name: str, compute: Callable[[], T]) -> T:
    """`compute()`, kept for this catalog generation (at most PUBLIC_PAGE_CACHE_SECONDS)."""
    timeout = _timeout()
    if timeout <= 0:
        return compute()
    key = f"value:{generation()}:{name}"
    found = near_get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    value = compute()
    near_set(key, value, timeout)
    return value


def _page_key(request: HttpRequest) -> str:
    # Keys sorted, each key's values in their order (a view reads the last of repeated values).
    query = sorted(request.GET.lists())
    address = repr((request.path, query)).encode()
    return f"page:{generation()}:{hashlib.blake2b(address, digest_size=16).hexdigest()}"


def _answer(request: HttpRequest, stored: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(stored["content"], status=200)
    for name, value in stored["headers"].items():
        response[name] = value
    last_modified = parse_http_date_safe(stored["headers"].get("Last-Modified", ""))
    if last_modified is not None:
        return get_conditional_response(request, last_modified=last_modified, response=response) or response
    return response


def _storable(response: HttpResponse) -> bool:
    cache_control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in cache_control
        and "no-store" not in cache_control
    )


def shared_page(view: View) -> View:
    """Serve a GET/HEAD of `view` from the cache when the same address was answered in this
    catalog generation; only 200 answers that set no cookie and are not private are kept."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        timeout = _timeout()
        if request.method not in ("GET", "HEAD") or timeout <= 0:
            return view(request, *args, **kwargs)
        key = _page_key(request)
        stored = near_get(key)
        if stored is not None:
            return _answer(request, stored)
        response = view(request, *args, **kwargs)
        if request.method == "GET" and _storable(response):
            headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            near_set(key, {"content": response.content, "headers": headers}, timeout)
        return response

    return wrapper
