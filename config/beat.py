"""Celery beat's scheduler: the periodic tasks in the database (django-celery-beat), whose
defaults are installed once and never overwritten (digest.ops.schedules), and a heartbeat:
each tick beat touches BEAT_HEARTBEAT_FILE (compose's healthcheck reads its age) and writes the
time to the cache (/healthz/ shows it). Run exactly one beat."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "beat:heartbeat"


def beat_heartbeat() -> None:
    """Record that beat is alive now (file and cache); failures are logged, never raised."""
    now = time.time()
    path = Path(settings.BEAT_HEARTBEAT_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{now:.0f}\n")
        cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    except Exception:  # a full disk or a Redis restart must not stop the schedule
        logger.exception("beat heartbeat not written")


class PaperboyScheduler(DatabaseScheduler):  # type: ignore[misc]
    def setup_schedule(self) -> None:
        from digest.ops.schedules import install_default_schedules

        self.install_default_entries(self.schedule)  # celery's own (e.g. result cleanup), if any
        created = install_default_schedules()  # settings' defaults, only where none exists
        if created:
            logger.info("periodic tasks installed from settings: %s", ", ".join(created))

    def tick(self, *args: Any, **kwargs: Any) -> float:
        beat_heartbeat()
        return float(super().tick(*args, **kwargs))
