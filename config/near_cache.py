"""A small cache inside each process in front of the shared one (Redis in production): the
busiest public pages are read from the process's own memory, and from Redis at most once a
second per process. Entries there live NEAR_SECONDS: a change made by another process shows
here within that time; one made by this process (`near_set`) shows at once.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache, caches

NEAR_ALIAS = "near"
NEAR_SECONDS = 1


def near_get(key: str) -> Any:
    """The value under `key`: from this process's memory, else from the shared cache."""
    near = caches[NEAR_ALIAS]
    value = near.get(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            near.set(key, value, NEAR_SECONDS)
    return value


def near_set(key: str, value: Any, timeout: int | None) -> None:
    """Store in the shared cache for `timeout` seconds (None: no expiry) and in this process."""
    cache.set(key, value, timeout)
    caches[NEAR_ALIAS].set(key, value, NEAR_SECONDS)


def near_add(key: str, value: Any, timeout: int | None) -> Any:
    """Store unless the shared cache already holds `key`; the value that holds now."""
    if not cache.add(key, value, timeout):
        value = cache.get(key, value)
    caches[NEAR_ALIAS].set(key, value, NEAR_SECONDS)
    return value
