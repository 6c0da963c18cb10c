"""The daily send run from a shell (send_digests, the demo): the due readers counted for a
progress bar, the dispatch, then what became of the rows it queued."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q

from digest.daily.dispatch import DispatchReport, dispatch_due
from digest.daily.due import due_readers
from digest.models import Delivery
from digest.tasks import enqueue_chunk


@dataclass(frozen=True)
class ShellSend:
    report: DispatchReport
    sent: int
    failed: int
    waiting: int  # queued or sending still (a broker's workers have them)


def count_due(*, now: dt.datetime, digest_date: dt.date | None, send_all: bool, email: str | None) -> int:
    """Readers the dispatch below would plan (one query; for a progress bar's total)."""
    return due_readers(now=now, digest_date=digest_date, send_all=send_all, email=email).count()


def send_from_shell(
    *,
    now: dt.datetime,
    digest_date: dt.date | None = None,
    send_all: bool = False,
    email: str | None = None,
    dry_run: bool = False,
    on_chunk: Callable[[int], object] | None = None,
) -> ShellSend:
    """Dispatch as the hourly task does (chunks go to the senders: in-process without a broker),
    then count the outcome of exactly the rows this run queued."""
    queued: list[int] = []

    def enqueue(ids: list[int]) -> None:
        queued.extend(ids)
        enqueue_chunk(ids)

    report = dispatch_due(
        enqueue=enqueue, now=now, digest_date=digest_date, send_all=send_all, email=email,
        dry_run=dry_run, on_chunk=on_chunk,
    )  # fmt: skip
    outcome = Delivery.objects.filter(pk__in=queued).aggregate(
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        waiting=Count("pk", filter=Q(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING])),
    )
    return ShellSend(report=report, **outcome)
