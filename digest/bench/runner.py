"""Run the daily pipeline in one mode on the bench data and measure it.

Safety: `ensure_empty` refuses a database holding any reader, topic, paper, edition or
delivery, so the bench never mixes with (or deletes) real data; `cleanup` then removes
everything the bench wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.management.base import CommandError
from django.db import DatabaseError, connection, models, transaction
from django.test import override_settings
from django.utils import timezone

from digest.bench import backend
from digest.bench.measure import Phases, QueryCounter, peak_rss_mb, reset_peak_rss
from digest.bench.naive import send_naively
from digest.daily.dispatch import dispatch_due
from digest.daily.sending import send_chunk
from digest.daily.storage import on_postgresql
from digest.models import Delivery, Edition, MatchingModel, Paper, PaperSnapshot, PaperTopic
from subscriptions.models import Subscriber, Topic

logger = logging.getLogger(__name__)

MODES = ("naive", "per-message", "batch")
BENCH_BACKEND = "digest.bench.backend.CountingBackend"
OWNED: tuple[type[models.Model], ...] = (
    Delivery,
    Edition,
    MatchingModel,
    PaperSnapshot,
    PaperTopic,
    Paper,
    Subscriber,
    Topic,
)


@dataclass
class ModeResult:
    mode: str
    readers: int = 0
    recipients: int = 0
    messages: int = 0
    editions: int = 0
    phases: Phases = field(default_factory=Phases)
    queries: int = 0
    peak_rss_mb: float = 0.0
    sample: bool = False
    senders: int = 1
    child_queries: int = 0
    child_messages: int = 0
    child_peak_rss_mb: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.phases.seconds.values())

    @property
    def rate(self) -> float:
        return self.recipients / self.total if self.total else 0.0

    @property
    def queries_per_1000(self) -> float:
        return self.queries * 1000 / self.recipients if self.recipients else 0.0


def _referencing() -> list[type[models.Model]]:
    """Models outside OWNED whose rows point at OWNED rows (e.g. tracking events)."""
    found: dict[str, type[models.Model]] = {}
    for model in OWNED:
        for rel in model._meta.related_objects:
            other = rel.related_model
            if other not in OWNED and not other._meta.auto_created:
                found[other._meta.label] = other
    return list(found.values())


def ensure_empty() -> None:
    """Refuse to run where real readers or papers may live (or anything pointing at them)."""
    busy = [m._meta.label for m in (*OWNED, *_referencing()) if m._default_manager.exists()]
    if busy:
        raise CommandError(
            f"the bench refuses to run on a database that holds data ({', '.join(busy)}): "
            "point DATABASE_URL at an empty, migrated database of its own (see docs/performance.md)"
        )


def _tables() -> list[str]:
    tables = [Edition.papers.through._meta.db_table, Subscriber.topics.through._meta.db_table]
    return tables + [m._meta.db_table for m in (*OWNED, *_referencing())]


def clear_run() -> None:
    """Forget a mode's deliveries and editions so the next mode starts from the same state
    (TRUNCATE on PostgreSQL outside a transaction; deferred constraints forbid it inside one)."""
    if on_postgresql() and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Delivery._meta.db_table}, {Edition.papers.through._meta.db_table}, "
                           f"{Edition._meta.db_table}")  # fmt: skip
        return
    Delivery.objects.all().delete()
    Edition.objects.all().delete()


def cleanup() -> None:
    """Delete every row the bench created (the database was empty of them before)."""
    if on_postgresql() and not connection.in_atomic_block:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(_tables())}")
            return
        except DatabaseError:
            logger.info("TRUNCATE refused (another table references these); deleting row by row")
    for model in OWNED:
        model._default_manager.all().delete()


def _pipelined(result: ModeResult, digest_date: dt.date, tick: Callable[[int], object]) -> None:
    """The real dispatch; each chunk is sent in-process as soon as it is queued."""

    def enqueue(ids: list[int]) -> None:
        with result.phases.phase("send"):
            send_chunk(ids)
        tick(len(ids))

    start = time.perf_counter()
    report = dispatch_due(enqueue=enqueue, digest_date=digest_date, send_all=True)
    result.phases.add("plan", time.perf_counter() - start - result.phases.seconds.get("send", 0.0))
    result.readers = report.due


def _with_senders(
    result: ModeResult, digest_date: dt.date, tick: Callable[[int], object], senders: int
) -> None:
    """The real dispatch in this process; chunks sent by `senders` forked processes meanwhile.
    plan = the dispatcher's wall time; send = the time senders still needed after it."""
    from digest.bench.senders import SenderPool

    pool = SenderPool(senders)
    try:
        start = time.perf_counter()

        def enqueue(ids: list[int]) -> None:
            pool.enqueue(ids)
            tick(len(ids))

        report = dispatch_due(enqueue=enqueue, digest_date=digest_date, send_all=True)
        planned = time.perf_counter()
        reports = pool.finish()
    finally:
        pool.terminate()
    result.phases.add("plan", planned - start)
    result.phases.add("send", time.perf_counter() - planned)
    result.readers = report.due
    result.child_queries = sum(r.queries for r in reports)
    result.child_messages = sum(r.messages for r in reports)
    result.child_peak_rss_mb = max(r.peak_rss_mb for r in reports)
    result.senders = senders


def _naive(
    result: ModeResult, digest_date: dt.date, tick: Callable[[int], object], limit: int | None
) -> None:
    with result.phases.phase("send"):
        result.readers = send_naively(digest_date=digest_date, limit=limit, on_reader=tick)


def run_mode(
    mode: str,
    *,
    digest_date: dt.date,
    tick: Callable[[int], object] = lambda n: None,
    naive_limit: int | None = None,
    senders: int = 1,
) -> ModeResult:
    """One measured daily run in `mode` (naive, per-message or batch) with the counting ESP."""
    result = ModeResult(mode=mode)
    clear_run()
    backend.reset()
    counter = QueryCounter()
    send_mode = "batch" if mode == "batch" else "per-message"
    # DEBUG off: Django would keep every SQL statement (bulk inserts of rendered HTML) in memory.
    with override_settings(EMAIL_BACKEND=BENCH_BACKEND, DIGEST_SEND_MODE=send_mode, DEBUG=False):
        reset_peak_rss()
        with counter.counting():
            if mode == "naive":
                _naive(result, digest_date, tick, naive_limit)
            elif senders > 1:
                _with_senders(result, digest_date, tick, senders)
            else:
                _pipelined(result, digest_date, tick)
        result.peak_rss_mb = max(peak_rss_mb(), result.child_peak_rss_mb)
    result.queries = counter.count + result.child_queries
    result.messages = backend.SENT["messages"] + result.child_messages
    result.recipients = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    result.editions = Edition.objects.count()
    result.sample = mode == "naive" and naive_limit is not None and result.readers >= naive_limit
    return result


def today() -> dt.date:
    return timezone.localdate()
