"""Celery tasks: thin adapters that take ids or dates and call services."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from digest.catalog.limits import LEARNING_SOFT_TIME_LIMIT, LEARNING_TIME_LIMIT

logger = logging.getLogger(__name__)


@shared_task(name="digest.tasks.ingest_daily_papers", acks_late=True)
def ingest_daily_papers(day: str | None = None) -> dict[str, Any]:
    """Fetch and upsert one listing day from the HF API, or (no day) today and the last
    HF_REFRESH_DAYS days. Idempotent: a re-run refreshes counts and adds a snapshot."""
    from digest.catalog.ingest import ingest_day, ingest_recent
    from digest.models import JobRun
    from digest.ops.runs import recorded

    with recorded(JobRun.Kind.INGEST_HF) as run:
        reports = [ingest_day(day=dt.date.fromisoformat(day))] if day else ingest_recent()
        run.ingested(reports)
    if day:
        return reports[0].as_dict()
    return {
        "days": [r.as_dict() for r in reports],
        "created": sum(r.created for r in reports),
        "updated": sum(r.updated for r in reports),
    }


@shared_task(name="digest.tasks.ingest_arxiv_announcement", acks_late=True)
def ingest_arxiv_announcement(day: str | None = None) -> dict[str, Any]:
    """Fetch and upsert an arXiv announcement (default: the latest one made). Idempotent."""
    from digest.catalog.arxiv_ingest import ingest_announcement
    from digest.models import JobRun
    from digest.ops.runs import recorded

    with recorded(JobRun.Kind.INGEST_ARXIV) as run:
        report = ingest_announcement(day=dt.date.fromisoformat(day) if day else None)
        run.ingested([report])
    return report.as_dict()


# Training the matcher on the ~19,000 labelled papers takes about 130-150 s on two cores, more on
# a busy worker: the tasks that may train get 20 minutes, not the default 5 (the broker's
# visibility timeout should exceed it: system check paperboy.W111).


@shared_task(
    name="digest.tasks.rematch_topic",
    acks_late=True,
    soft_time_limit=LEARNING_SOFT_TIME_LIMIT,
    time_limit=LEARNING_TIME_LIMIT,
)
def rematch_topic(topic_id: int) -> int:
    """Re-match all papers against one topic's current rules (after an edit); returns rows changed.

    The matching model is retrained first when the rules changed what it learns (its combiner
    for the topic weighs the rules' evidence). Idempotent; manual matches are never touched. A
    topic deleted meanwhile is a no-op.
    """
    from digest.catalog.learning import ensure_trained
    from digest.catalog.matching import rematch_topic as rematch
    from subscriptions.models import Topic

    if not Topic.objects.filter(pk=topic_id).exists():
        logger.info("rematch_topic: topic %s no longer exists", topic_id)
        return 0
    ensure_trained()
    try:
        return rematch(topic_id)
    except Topic.DoesNotExist:
        logger.info("rematch_topic: topic %s no longer exists", topic_id)
        return 0


@shared_task(
    name="digest.tasks.learn_from_decisions",
    acks_late=True,
    soft_time_limit=LEARNING_SOFT_TIME_LIMIT,
    time_limit=LEARNING_TIME_LIMIT,
)
def learn_from_decisions() -> dict[str, object]:
    """Retrain the matching model on the editors' decisions and, if it changed, re-match every
    paper. Idempotent: with nothing new to learn it does nothing (so a burst of decisions
    costs one training)."""
    from digest.catalog.learning import ensure_trained
    from digest.catalog.matching import rematch_papers

    report = ensure_trained()
    changed = rematch_papers() if report.trained else 0
    return {**report.as_dict(), "matches_changed": changed}


@shared_task(
    name="digest.tasks.dispatch_due_digests",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=15,
    retry_backoff_max=300,
    max_retries=20,
)
def dispatch_due_digests() -> dict[str, object]:
    """Queue the digests of every reader due now (hourly, and when beat starts). A database
    that goes away mid-run makes the task try again within seconds to minutes.

    Idempotent: the unique (subscriber, date) row decides; re-runs queue nothing twice.
    """
    from digest.daily.dispatch import dispatch_due
    from digest.models import JobRun
    from digest.ops.runs import recorded

    with recorded(JobRun.Kind.DISPATCH) as run:
        report = dispatch_due(enqueue=enqueue_chunk)
        run.items = report.queued
    return report.as_dict()


@shared_task(
    name="digest.tasks.heal_deliveries",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=15,
    retry_backoff_max=120,
    max_retries=5,
)
def heal_deliveries() -> dict[str, object]:
    """Every DIGEST_HEAL_EVERY_MINUTES: settle dead senders' claims and quiet unknown
    outcomes, hand out work a broker lost (digest.daily.healing), and run this hour's dispatch
    if it never finished (a broker or database restart lost it). Idempotent."""
    from django.utils import timezone

    from digest.daily.dispatch import dispatch_due, dispatched_this_hour
    from digest.daily.healing import heal
    from digest.models import SendingSettings

    now = timezone.now()
    if SendingSettings.load().sending_paused:
        return {"paused": True}
    healed = heal(now=now, enqueue=enqueue_chunk, size=settings.DIGEST_CHUNK_SIZE)
    report: dict[str, object] = healed.as_dict()
    if not dispatched_this_hour(now):
        logger.warning("this hour's dispatch did not finish: running it now")
        report["dispatched"] = dispatch_due(enqueue=enqueue_chunk, now=now).as_dict()
    return report


def enqueue_chunk(delivery_ids: list[int]) -> None:
    """Hand a chunk of queued deliveries to a send task (after the rows are committed)."""
    ids = list(delivery_ids)
    transaction.on_commit(lambda: send_delivery_chunk.delay(ids))


def _jitter(seconds: float) -> float:
    return seconds * (1 + random.random() / 4)  # noqa: S311 - spreading retries, not security


@shared_task(bind=True, name="digest.tasks.send_delivery_chunk", acks_late=True, max_retries=None)
def send_delivery_chunk(self: Task[Any, Any], delivery_ids: list[int]) -> dict[str, object]:
    """Send these deliveries once each, the claim owned by this task's id (a copy Celery hands
    out again after a worker died settles its earlier run's rows first). Transient failures
    retry with exponential backoff; while the ESP's circuit breaker is open the task waits
    without claiming; a database away at claim time makes it try again shortly.
    """
    from digest.daily.sending import send_chunk
    from digest.models import SendingSettings

    if SendingSettings.load().sending_paused:
        # Kill switch flipped mid-run: rows stay queued; healing hands them out again once it
        # is lifted (as lost work).
        logger.warning(
            "sending is paused (kill switch in admin): %d deliveries left queued", len(delivery_ids)
        )
        return {"sent": 0, "failed": 0, "paused": True}
    try:
        again = self.request.retries > 0 or bool((self.request.delivery_info or {}).get("redelivered"))
        result = send_chunk(delivery_ids, token=self.request.id, again=again)
    except (OperationalError, InterfaceError) as exc:
        if self.request.is_eager:
            raise
        # The database went away before or after the sends (outcome writes retry on their
        # own): rows not claimed stay queued; this task's own claim is settled on its retry.
        raise self.retry(countdown=_jitter(min(5 * 2**self.request.retries, 120)), exc=exc) from exc
    summary: dict[str, object] = {"sent": result.sent, "failed": result.failed, "uncertain": result.uncertain}
    waiting = result.released_ids + result.retry_ids
    if result.breaker_wait and waiting:
        summary["waiting_for_esp"] = len(waiting)
        if self.request.is_eager:
            return summary  # healing hands them out once the breaker closes
        raise self.retry(args=(sorted(waiting),), countdown=_jitter(result.breaker_wait))
    if not result.retry_ids:
        return summary
    backoff = min(settings.DIGEST_RETRY_BACKOFF * 2**self.request.retries, 600)
    if self.request.is_eager:
        # No broker (demo, shell): retry in-process after a short pause; rows that run out
        # of attempts are left for a later run (healing), so this ends.
        time.sleep(min(backoff, 5))
        retried = send_delivery_chunk.apply(args=(result.retry_ids,), retries=self.request.retries + 1)
        return {**summary, "retried": len(result.retry_ids), "id": retried.id}
    raise self.retry(args=(result.retry_ids,), countdown=backoff)
