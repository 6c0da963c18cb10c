"""The daily run: due readers → editions → Delivery rows → chunk send tasks.

Safe to run twice, at once or after a crash: the unique (subscriber,
digest_date) constraint decides who gets a row, and a row is sent only by the
task that claims it. Rows left `queued` by a lost task, or `sending` by a dead
worker, are handed out again by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from digest.daily import storage
from digest.daily.due import due_chunks, due_readers
from digest.daily.editions import Plan, Planner
from digest.daily.storage import NewDelivery
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
    """Insert the chunk's rows (the unique constraint drops duplicates); ids of the queued
    rows this call inserted (a concurrent run queues and sends its own)."""
    rows = [
        NewDelivery(
            p.reader.pk, p.reader.digest_date, editions[(p.reader.digest_date, p.key)] if p.key else None
        )
        for p in plans
    ]
    return storage.insert_deliveries(rows, skipped_note=NOTHING_NEW)


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


def _close_connection() -> None:
    connection.close()  # the calling thread's connection (Django keeps one per thread)


class _RowWriter:
    """Writes each chunk's Delivery rows, then hands the queued ids to `enqueue` (always from
    the calling thread, in chunk order).

    Where storage.overlapped_writes() allows it (PostgreSQL in autocommit), the inserts run
    on a second connection in one helper thread, so the database writes chunk N while this
    thread plans chunk N+1; at most `AHEAD` chunks wait. Errors surface in the caller.
    Elsewhere rows are written inline.
    """

    AHEAD = 2

    def __init__(self, enqueue: Callable[[list[int]], None], report: DispatchReport) -> None:
        self._enqueue, self._report = enqueue, report
        threaded = storage.overlapped_writes()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="dispatch-writer") if threaded else None
        self._pending: deque[Future[list[int]]] = deque()

    def write(self, plans: Sequence[Plan], editions: dict[tuple[dt.date, str], int]) -> None:
        if self._pool is None:
            self._hand_out(_create_deliveries(plans, editions))
            return
        self._pending.append(self._pool.submit(_create_deliveries, plans, editions))
        while len(self._pending) > self.AHEAD:
            self._hand_out(self._pending.popleft().result())

    def _hand_out(self, ids: list[int]) -> None:
        self._report.queued += len(ids)
        if ids:
            self._enqueue(ids)

    def close(self, *, failed: bool = False) -> None:
        """Wait for the writes in flight and hand them out (only wait, when the run failed)."""
        if self._pool is None:
            return
        try:
            while self._pending:
                future = self._pending.popleft()
                if failed:
                    wait([future])
                else:
                    self._hand_out(future.result())
        finally:
            self._pool.submit(_close_connection).result()  # runs in the helper thread: closes its own
            self._pool.shutdown()


def dispatch_due(
    *,
    enqueue: Callable[[list[int]], None],
    now: dt.datetime | None = None,
    digest_date: dt.date | None = None,
    send_all: bool = False,
    email: str | None = None,
    dry_run: bool = False,
    on_chunk: Callable[[int], object] | None = None,
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
    writer = None if dry_run else _RowWriter(enqueue, report)
    try:
        for chunk in due_chunks(readers, size=settings.DIGEST_CHUNK_SIZE):
            plans = planner.plan(chunk)
            report.due += len(plans)
            report.skipped += sum(1 for p in plans if not p.key)
            seen_editions.update((p.reader.digest_date, p.key) for p in plans if p.key)
            if writer:
                writer.write(plans, planner.editions_for(plans))
            if on_chunk:
                on_chunk(len(plans))
    except BaseException:
        if writer:
            writer.close(failed=True)
        raise
    if writer:
        writer.close()
    report.editions = len(seen_editions)
    logger.info("dispatch: %s", report.as_dict())
    return report
