"""The daily run: due readers → editions → Delivery rows → chunk send tasks.

Safe to run twice, at once or after a crash: the unique (subscriber,
digest_date) constraint decides who gets a row, and a row is sent only by the
task that claims it. Rows left `queued` by a lost task, or `sending` by a dead
worker, are handed out again by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

from django.conf import settings
from django.utils import timezone

from digest.due import due_chunks, due_readers
from digest.editions import Plan, Planner
from digest.models import Delivery, SendingSettings

logger = logging.getLogger(__name__)

NOTHING_NEW = "nothing new for these topics"


@dataclass
class DispatchReport:
    due: int = 0
    editions: int = 0
    queued: int = 0
    skipped: int = 0
    requeued: int = 0
    paused: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _create_deliveries(plans: Sequence[Plan], editions: dict[tuple[dt.date, str], int]) -> list[int]:
    """Insert the chunk's rows (the unique constraint drops duplicates); ids of its queued rows."""
    rows = [
        Delivery(
            subscriber_id=p.reader.pk,
            digest_date=p.reader.digest_date,
            edition_id=editions.get((p.reader.digest_date, p.key)),
            status=Delivery.Status.QUEUED if p.key else Delivery.Status.SKIPPED,
            note="" if p.key else NOTHING_NEW,
        )
        for p in plans
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    dates = {p.reader.digest_date for p in plans}
    return list(
        Delivery.objects.filter(
            subscriber_id__in=[p.reader.pk for p in plans],
            digest_date__in=dates,
            status=Delivery.Status.QUEUED,
            attempts=0,
        ).values_list("pk", flat=True)
    )


def requeue_stuck(*, now: dt.datetime, size: int) -> Iterator[list[int]]:
    """Rows of the last two days left `sending` by a dead worker or `queued` by a lost
    task, in chunks of ids to hand out again (each marked as handed out now)."""
    stale = now - dt.timedelta(minutes=settings.DIGEST_STUCK_AFTER_MINUTES)
    rows = Delivery.objects.filter(digest_date__gte=now.date() - dt.timedelta(days=2))
    # updated_at stays the claim time, so these rows count as waiting below.
    rows.filter(status=Delivery.Status.SENDING, claimed_at__lt=stale).update(
        status=Delivery.Status.QUEUED, note="re-queued after a stalled send"
    )
    waiting = rows.filter(status=Delivery.Status.QUEUED, updated_at__lt=stale)
    last = 0
    while ids := list(waiting.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]):
        last = ids[-1]
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED).update(updated_at=now)
        yield ids


def dispatch_due(
    *,
    enqueue: Callable[[list[int]], None],
    now: dt.datetime | None = None,
    digest_date: dt.date | None = None,
    send_all: bool = False,
    email: str | None = None,
    dry_run: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> DispatchReport:
    """Plan and queue every due reader's digest; `enqueue(ids)` hands a chunk to the senders.

    Idempotent; returns counts. With `dry_run`, plans but writes and sends nothing.
    """
    now = now or timezone.now()
    report = DispatchReport()
    if SendingSettings.load().sending_paused:
        logger.warning("sending is paused (kill switch in admin): dispatch sends nothing")
        report.paused = True
        return report
    if not dry_run:
        for ids in requeue_stuck(now=now, size=settings.DIGEST_CHUNK_SIZE):
            report.requeued += len(ids)
            enqueue(ids)
    planner = Planner(now=now)
    readers = due_readers(now=now, digest_date=digest_date, send_all=send_all, email=email)
    seen_editions: set[tuple[dt.date, str]] = set()
    for chunk in due_chunks(readers, size=settings.DIGEST_CHUNK_SIZE):
        plans = planner.plan(chunk)
        report.due += len(plans)
        report.skipped += sum(1 for p in plans if not p.key)
        seen_editions.update((p.reader.digest_date, p.key) for p in plans if p.key)
        if not dry_run:
            ids = _create_deliveries(plans, planner.editions_for(plans))
            report.queued += len(ids)
            if ids:
                enqueue(ids)
        if on_chunk:
            on_chunk(len(plans))
    report.editions = len(seen_editions)
    logger.info("dispatch: %s", report.as_dict())
    return report
