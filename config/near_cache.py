"""A small cache inside each process in front of the shared one (Redis in production): the
busiest public pages are read from the process's own memory, and from Redis at most once a
second per process. Entries there live NEAR_SECONDS: a change made by another process shows
here within that time; one made by this process (`near_set`) shows at once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache, caches

logger = logging.getLogger(__name__)

NEAR_ALIAS = "near"
NEAR_SECONDS = 1


def _shared_failed(action: str, key: str, error: Exception) -> None:
    # The cache only saves work: a Redis that went away makes pages slower, never fail.
    logger.warning("shared cache unavailable (%s %s): %s: %s", action, key, type(error).__name__, error)


def near_get(key: str) -> Any:
    """The value under `key`: from this process's memory, else from the shared cache (None
    when neither has it, or the shared cache does not answer)."""
    near = caches[NEAR_ALIAS]
    value = near.get(key)
    if value is None:
        try:
            value = cache.get(key)
        except Exception as error:  # the backend's own errors (redis.ConnectionError, …)
            _shared_failed("get", key, error)
            return None
        if value is not None:
            near.set(key, value, NEAR_SECONDS)
    return value


def near_set(key: str, value: Any, timeout: int | None) -> None:
    """Store in the shared cache for `timeout` seconds (None: no expiry) and in this process."""
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        _shared_failed("set", key, error)
    caches[NEAR_ALIAS].set(key, value, NEAR_SECONDS)


def near_add(key: str, value: Any, timeout: int | None) -> Any:
    """Store unless the shared cache already holds `key`; the value that holds now (this
    process's `value` while the shared cache does not answer)."""
    try:
        if not cache.add(key, value, timeout):
            value = cache.get(key, value)
    except Exception as error:
        _shared_failed("add", key, error)
    caches[NEAR_ALIAS].set(key, value, NEAR_SECONDS)
    return value
