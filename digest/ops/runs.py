"""Record each run of a scheduled job (digest.models.JobRun), success or failure."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from django.db import DatabaseError
from django.utils import timezone

from digest.models import JobRun

logger = logging.getLogger(__name__)


class IngestOutcome(Protocol):
    created: int
    updated: int
    fetch_failed: bool
    errors: list[str]


@dataclass
class Tally:
    """What the job did: `items` (papers stored, readers queued) and, when it failed without
    raising (an API that did not answer), `error`."""

    items: int = 0
    error: str = ""

    def ingested(self, reports: Iterable[IngestOutcome]) -> None:
        for report in reports:
            self.items += report.created + report.updated
            if report.fetch_failed:
                self.error = "; ".join([self.error, *report.errors[-1:]]).strip("; ")[:500] or "fetch failed"


@contextmanager
def recorded(kind: JobRun.Kind) -> Iterator[Tally]:
    """Run the block as one run of `kind`: a JobRun row is written when it ends, ok or not
    (an exception is recorded, then raised again)."""
    tally = Tally()
    started = timezone.now()
    try:
        yield tally
    except BaseException as exc:
        _write(kind, started, ok=False, items=tally.items, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    _write(kind, started, ok=not tally.error, items=tally.items, error=tally.error)


def _write(kind: JobRun.Kind, started: dt.datetime, *, ok: bool, items: int, error: str) -> None:
    try:
        JobRun.objects.create(
            kind=kind, started_at=started, finished_at=timezone.now(), ok=ok, items=items, error=error
        )
    except DatabaseError:  # the job's own outcome matters more than its record
        logger.exception("could not record the %s run", kind)
