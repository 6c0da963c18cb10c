"""The daily run: due readers → editions → Delivery rows → chunk send tasks.

Safe to run twice, at once or after a crash: the unique (subscriber,
digest_date) constraint decides who gets a row, and a row is sent only by the
task that claims it. Each run first heals what faults left (digest.daily.healing:
dead senders' claims, unknown outcomes, work a broker lost).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from digest.daily import storage
from digest.daily.collection import rare_collections
from digest.daily.due import due_chunks, due_readers
from digest.daily.editions import Editions, Plan, Planner
from digest.daily.healing import heal
from digest.daily.storage import NewDelivery
from digest.models import SendingSettings

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


def _create_deliveries(plans: Sequence[Plan], prepared: Editions) -> list[int]:
    """Store the chunk's rows of personal lists, then insert its rows (the unique constraint drops
    duplicates); ids of the queued rows this call inserted (a concurrent run queues and sends
    its own)."""
    editions = prepared.store()
    rows = [
        NewDelivery(
            p.reader.pk, p.reader.digest_date, editions[(p.reader.digest_date, p.key)] if p.key else None
        )
        for p in plans
    ]
    return storage.insert_deliveries(rows, skipped_note=NOTHING_NEW)


DISPATCHED_HOUR = "digest:dispatch:completed-hour"


def hour_key(now: dt.datetime) -> str:
    """The UTC hour a dispatch run belongs to (what the completion marker holds)."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")


def mark_dispatched(now: dt.datetime) -> None:
    """Remember that the dispatch of `now`'s hour finished (healing runs it again otherwise)."""
    try:
        cache.set(DISPATCHED_HOUR, hour_key(now), timeout=2 * 24 * 3600)
    except Exception:
        logger.exception("could not record the finished dispatch (the next heal runs it again)")


def dispatched_this_hour(now: dt.datetime) -> bool:
    """True when this hour's dispatch finished (False when the cache lost the mark: harmless,
    a second dispatch queues nothing twice)."""
    try:
        return bool(cache.get(DISPATCHED_HOUR) == hour_key(now))
    except Exception:
        return False


class _RowWriter:
    """Writes each chunk's rows of personal lists and Delivery rows, then hands the queued ids to
    `enqueue` (always from the calling thread, in chunk order).

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

    def write(self, plans: Sequence[Plan], editions: Editions) -> None:
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
            self._pool.submit(storage.close_connection).result()  # in the helper thread: its own
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
    with rare_collections():
        return _dispatch(
            enqueue=enqueue, now=now, digest_date=digest_date, send_all=send_all,
            email=email, dry_run=dry_run, on_chunk=on_chunk,
        )  # fmt: skip


def _dispatch(
    *,
    enqueue: Callable[[list[int]], None],
    now: dt.datetime | None,
    digest_date: dt.date | None,
    send_all: bool,
    email: str | None,
    dry_run: bool,
    on_chunk: Callable[[int], object] | None,
) -> DispatchReport:
    now = now or timezone.now()
    report = DispatchReport()
    if SendingSettings.load().sending_paused:
        logger.warning("sending is paused (kill switch in admin): dispatch sends nothing")
        report.paused = True
        return report
    if not dry_run:
        healed = heal(now=now, enqueue=enqueue, size=settings.DIGEST_CHUNK_SIZE)
        report.requeued += healed.requeued
    planner = Planner(now=now)
    readers = due_readers(now=now, digest_date=digest_date, send_all=send_all, email=email)
    # Shared editions are counted by hash (a few per topic set); a personal list is one
    # reader's edition, counted per chunk: nothing is kept per reader while the run goes on.
    seen_editions: set[int] = set()
    personal_editions = 0
    writer = None if dry_run else _RowWriter(enqueue, report)
    try:
        for chunk in due_chunks(readers, size=settings.DIGEST_CHUNK_SIZE):
            plans = planner.plan(chunk)
            report.due += len(plans)
            report.skipped += sum(1 for p in plans if not p.key)
            keyed = [((p.reader.digest_date, p.key), p.why is not None) for p in plans if p.key]
            seen_editions.update(hash(pair) for pair, personal in keyed if not personal)
            personal_editions += len({pair for pair, personal in keyed if personal})
            if writer:
                writer.write(plans, planner.prepare(plans))
            if on_chunk:
                on_chunk(len(plans))
    except BaseException:
        if writer:
            writer.close(failed=True)
        raise
    if writer:
        writer.close()
    report.editions = len(seen_editions) + personal_editions
    if not dry_run and digest_date is None and not send_all and email is None:
        mark_dispatched(now)
    logger.info("dispatch: %s", report.as_dict())
    return report
