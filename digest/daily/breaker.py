"""A circuit breaker in front of the ESP, shared by every sender through the cache (Redis in
production).

DIGEST_BREAKER_FAILURES failed ESP calls in a row (not sent, or outcome unknown) open it:
senders then claim nothing and wait DIGEST_BREAKER_COOLDOWN seconds, doubling after each
failed probe up to 20 times that (10 minutes at most). When the wait is over, one sender
probes (the others keep waiting); an accepted message closes the breaker, and any accepted
call starts the count again. So an ESP outage costs no delivery attempts and ends by itself.
If the cache itself fails, the breaker counts as closed: sending goes on as it would
without one.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

FAILURES = "digest:breaker:failures"
OPEN_UNTIL = "digest:breaker:open-until"
TRIPS = "digest:breaker:trips"
PROBE = "digest:breaker:probe"
MAX_COOLDOWN = 600.0
MAX_DOUBLING = 20  # the wait grows to at most 20 times the first one (10 minutes by default)
_DAY = 24 * 3600


def _now() -> float:
    return time.time()


def wait_seconds() -> float:
    """Seconds a sender should wait before calling the ESP (0: go ahead). Past the cool-down,
    exactly one caller gets 0 (the probe) until it reports back."""
    try:
        until = cache.get(OPEN_UNTIL)
        if until is None:
            return 0.0
        left = float(until) - _now()
        if left > 0:
            return left
        # Half-open: the first caller to take the probe slot goes; the rest wait a little.
        return 0.0 if cache.add(PROBE, 1, timeout=int(_cooldown()) + 1) else min(_cooldown(), 30.0)
    except Exception:
        logger.exception("circuit breaker: cache unavailable; treated as closed")
        return 0.0


def _cooldown() -> float:
    trips = int(cache.get(TRIPS) or 0)
    first = settings.DIGEST_BREAKER_COOLDOWN
    return float(min(first * 2 ** max(trips - 1, 0), first * MAX_DOUBLING, MAX_COOLDOWN))


def record_success() -> None:
    """An ESP call was accepted: failures "in a row" start again from 0, an open breaker
    closes. One cache read when nothing failed (an open breaker always has failures)."""
    try:
        if not cache.get(FAILURES):
            return
        was_open = cache.get(OPEN_UNTIL) is not None
        cache.delete_many([FAILURES, OPEN_UNTIL, TRIPS, PROBE])
        if was_open:
            logger.info("circuit breaker closed: the ESP accepts messages again")
    except Exception:
        logger.exception("circuit breaker: cache unavailable")


def record_failure() -> bool:
    """An ESP call failed (not sent or unknown); True when the breaker is (now) open."""
    try:
        cache.add(FAILURES, 0, timeout=_DAY)
        failures = cache.incr(FAILURES)
        if failures < settings.DIGEST_BREAKER_FAILURES:
            return False
        if cache.get(OPEN_UNTIL) is not None and cache.get(PROBE) is None:
            return True  # already open, and no probe failed: keep the current wait
        cache.add(TRIPS, 0, timeout=_DAY)
        cache.incr(TRIPS)
        cooldown = _cooldown()
        cache.set(OPEN_UNTIL, _now() + cooldown, timeout=_DAY)
        cache.delete(PROBE)
        logger.warning(
            "circuit breaker open: %d failed ESP calls in a row; waiting %.0f s", failures, cooldown
        )
        return True
    except Exception:
        logger.exception("circuit breaker: cache unavailable; treated as closed")
        return False


def seconds_left() -> float:
    """How long a sender that just saw the breaker open should wait (never takes the probe)."""
    try:
        until = cache.get(OPEN_UNTIL)
        if until is None:
            return 0.0
        return max(float(until) - _now(), 1.0)
    except Exception:
        return 1.0


def is_open() -> bool:
    """True while senders must not call the ESP (does not take the probe slot)."""
    try:
        until = cache.get(OPEN_UNTIL)
        return until is not None and (float(until) > _now() or cache.get(PROBE) is not None)
    except Exception:
        return False
