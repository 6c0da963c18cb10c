"""What /healthz/ reports: the database, the broker, the age of the last successful run of each
scheduled job, beat's heartbeat, the kill switch and the deliveries waiting or failed.

Three queries at most (last successes, the kill switch, delivery counts of today and
yesterday); the answer is kept HEALTH_CACHE_SECONDS. No personal data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Count, Max, Q
from django.utils import timezone

from config.beat import BEAT_HEARTBEAT_KEY
from config.start_checks import broker_error
from digest.models import Delivery, JobRun, SendingSettings

CACHE_KEY = "healthz"
HOUR = 3600


@dataclass
class Health:
    healthy: bool = True
    problems: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def fail(self, problem: str) -> None:
        self.healthy = False
        self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.healthy else "unhealthy", "problems": self.problems, **self.checks}


def _limits() -> dict[str, float]:
    """Seconds after which a job's last success is too old (a job that never ran is not)."""
    return {
        JobRun.Kind.INGEST_HF: settings.HEALTH_INGEST_MAX_AGE_HOURS * HOUR,
        JobRun.Kind.INGEST_ARXIV: settings.HEALTH_ARXIV_MAX_AGE_HOURS * HOUR,
        JobRun.Kind.DISPATCH: settings.HEALTH_DISPATCH_MAX_AGE_MINUTES * 60,
    }


def _age(when: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if when is None else round((now - when).total_seconds(), 1)


def _database(health: Health, now: dt.datetime) -> None:
    try:
        last = dict(
            JobRun.objects.filter(ok=True)
            .values("kind")
            .annotate(last=Max("finished_at"))
            .values_list("kind", "last")
        )
        paused = SendingSettings.objects.filter(pk=1, sending_paused=True).exists()
        since = now.date() - dt.timedelta(days=1)
        counts = Delivery.objects.filter(digest_date__gte=since).aggregate(
            queued=Count("pk", filter=Q(status=Delivery.Status.QUEUED)),
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            uncertain=Count("pk", filter=Q(status=Delivery.Status.UNCERTAIN)),
        )
    except DatabaseError as exc:
        health.checks["database"] = {"ok": False, "error": type(exc).__name__}
        health.fail("database unreachable")
        return
    health.checks["database"] = {"ok": True}
    jobs = {}
    for kind, limit in _limits().items():
        age = _age(last.get(kind), now)
        stale = age is not None and age > limit
        jobs[str(kind)] = {"last_success_age_s": age, "max_age_s": limit, "stale": stale}
        if stale:
            health.fail(f"{kind}: last success {age:.0f} s ago (limit {limit:.0f} s)")
    health.checks["jobs"] = jobs
    health.checks["sending_paused"] = paused
    health.checks["deliveries"] = {"since": since.isoformat(), **counts}


def _broker(health: Health) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        health.checks["broker"] = {"ok": True, "configured": False}
        return
    error = broker_error()
    if error is not None:
        health.checks["broker"] = {"ok": False, "configured": True, "error": type(error).__name__}
        health.fail("broker unreachable")
        return
    health.checks["broker"] = {"ok": True, "configured": True}


def _beat(health: Health, now: dt.datetime) -> None:
    try:
        beat = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception as exc:  # the cache's own errors (a Redis that went away)
        health.checks["cache"] = {"ok": False, "error": type(exc).__name__}
        health.fail("cache unreachable")
        return
    health.checks["cache"] = {"ok": True}
    age = _age(dt.datetime.fromtimestamp(beat, tz=dt.UTC), now) if isinstance(beat, int | float) else None
    health.checks["beat"] = {"heartbeat_age_s": age}


def check(*, now: dt.datetime | None = None) -> Health:
    """Every check, afresh."""
    now = now or timezone.now()
    health = Health()
    _database(health, now)
    _broker(health)
    _beat(health, now)
    return health


def cached_check() -> dict[str, Any]:
    """The last answer when younger than HEALTH_CACHE_SECONDS, else a fresh one."""
    try:
        found = cache.get(CACHE_KEY)
    except Exception:  # reported by check() below
        found = None
    if isinstance(found, dict):
        return found
    answer = {**check().as_dict(), "checked_at": timezone.now().isoformat(timespec="seconds")}
    with contextlib.suppress(Exception):  # already in the answer as "cache unreachable"
        cache.set(CACHE_KEY, answer, settings.HEALTH_CACHE_SECONDS)
    return answer
