"""The faults the drill injects, one per run (docs/reliability.md, "Fault drill").

Each fault prepares the stand-in, starts the day's dispatch (as the hourly beat task would)
and strikes while the run is under way. Healing afterwards is the same for all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from digest.daily.dispatch import dispatch_due
from digest.daily.sending import claim, send_claim
from digest.drill.runner import Drill, Outcome, with_database
from digest.tasks import dispatch_due_digests, enqueue_chunk

STRIKE_AT = 0.3  # share of readers accepted when a mid-run fault strikes


def _dispatch(drill: Drill) -> None:
    with_database(lambda: dispatch_due(enqueue=enqueue_chunk))


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    prepare: Callable[[Drill], None] = lambda drill: None
    dispatch: Callable[[Drill], None] = _dispatch
    strike: Callable[[Drill], None] = lambda drill: None


def _kill_worker(drill: Drill) -> None:
    drill.wait_for_share(STRIKE_AT)
    drill.kill_worker()


def _slow_accepts(drill: Drill) -> None:
    timeout = settings.ANYMAIL.get("REQUESTS_TIMEOUT", 30)
    read = timeout[-1] if isinstance(timeout, tuple) else float(timeout)
    drill.esp.faults.slow_accepts = 8
    drill.esp.faults.slow_seconds = read + 1.0


def _errors(drill: Drill) -> None:
    drill.esp.faults.error_rate = 0.3


def _outage(drill: Drill) -> None:
    drill.esp.faults.down_until = lambda: drill.shifted_minutes < 10


def _restart_postgres(drill: Drill) -> None:
    drill.wait_for_share(STRIKE_AT)
    drill.postgres.restart(down_for=3.0)


def _restart_redis(drill: Drill) -> None:
    drill.wait_for_share(STRIKE_AT)
    drill.redis.restart(down_for=2.0)


def _stale_claims(drill: Drill) -> None:
    """A sender that is slow but alive holds 10 rows; a dead one left 10 rows claimed."""
    chunks: list[list[int]] = []
    with_database(lambda: dispatch_due(enqueue=chunks.append))
    first = sorted(chunks[0])
    size = max(1, min(10, len(first) // 3))
    live = claim(first[:size], LIVE_SENDER)
    claim(first[size : 2 * size], DEAD_SENDER)
    for ids in chunks:
        enqueue_chunk(ids)

    def slow_sender() -> None:
        time.sleep(min(5.0, (settings.CELERY_TASK_TIME_LIMIT or 10) / 2))
        send_claim(live, LIVE_SENDER)

    sender = threading.Thread(target=slow_sender, name="drill-live-sender")
    sender.start()
    sender.join()


def _double_dispatch(drill: Drill) -> None:
    """The hourly task twice through the broker and once in this process, at once."""
    dispatch_due_digests.delay()
    dispatch_due_digests.delay()
    _dispatch(drill)


LIVE_SENDER = "drill-live-sender"  # claim tokens of the stale-claim fault
DEAD_SENDER = "drill-dead-sender"
FAULTS = [
    Fault("none", "no fault (reference)"),
    Fault("worker-sigkill", f"one worker SIGKILLed (process group) at {STRIKE_AT:.0%}", strike=_kill_worker),
    Fault(
        "slow-accept", "8 messages accepted, answered after the client's read timeout", prepare=_slow_accepts
    ),
    Fault("esp-5xx", "30 % of ESP calls answered 500 (not accepted)", prepare=_errors),
    Fault("esp-outage", "ESP answers 503 for 10 simulated minutes from the start", prepare=_outage),
    Fault(
        "postgres-restart", f"PostgreSQL stopped (fast) for 3 s at {STRIKE_AT:.0%}", strike=_restart_postgres
    ),
    Fault(
        "redis-restart", f"Redis (no persistence) stopped for 2 s at {STRIKE_AT:.0%}", strike=_restart_redis
    ),
    Fault("stale-claim", "10 rows held by a slow live sender, 10 left by a dead one", dispatch=_stale_claims),
    Fault(
        "double-dispatch",
        "the hourly dispatch twice on workers and once here, at once",
        dispatch=_double_dispatch,
    ),
]
BY_NAME = {fault.name: fault for fault in FAULTS}


def run(drill: Drill, fault: Fault) -> Outcome:
    """One fault on a clean day: two fresh workers, dispatch, strike, heal until settled."""
    drill.reset()
    drill.start_worker()
    drill.start_worker()
    started = time.monotonic()
    try:
        fault.prepare(drill)
        fault.dispatch(drill)
        fault.strike(drill)
        drill.heal_until_settled()
        return drill.count(fault.name, started)
    finally:
        drill.stop_workers()
