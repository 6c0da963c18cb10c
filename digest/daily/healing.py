"""Rows that need a hand: claims of dead senders, unknown outcomes, work a broker lost, and
digests that cannot go out before the reader's day ends. `heal` runs at the start of every
dispatch and every DIGEST_HEAL_EVERY_MINUTES (beat), so a fault costs minutes, not an hour.

Exactly once, by design (docs/reliability.md):

* A claim belongs to one sender (its task id). A claim older than
  DIGEST_STUCK_AFTER_MINUTES, which a system check keeps above the task's hard time limit,
  belongs to a sender that is dead: Celery killed it at that limit if nothing else did.
* Its rows still `sending` were never answered. Per message, a sender sends its rows in id
  order and writes each outcome before the next send, so only the first of them can have
  left: it becomes `uncertain`, the rest go back to `queued`. A batch call covers many rows
  at once (their outcomes are written together after the chunk): all become `uncertain`.
* An `uncertain` row is settled by the ESP's tracking webhook (the delivery id travels in
  the message metadata: digest.daily.receivers). Without one within
  DIGEST_UNKNOWN_QUIET_MINUTES it gets one careful retry; a second unknown outcome is never
  re-sent.
* A `queued` row whose task was lost (broker restart, a chunk that gave up for now) is
  handed out again after DIGEST_REQUEUE_AFTER_MINUTES, while the ESP's circuit breaker is
  closed, until the reader's local day ends (DIGEST_GIVE_UP_HOUR); then it is `failed`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import F

from digest.daily import breaker
from digest.models import Delivery
from subscriptions.localtime import is_valid_timezone, local_now

logger = logging.getLogger(__name__)

DIED_MID_SEND = "the sender died mid-send: maybe sent; waiting for the ESP's word"
RELEASED = "released from a sender that died before sending it"
CAREFUL_RETRY = "one careful retry: no word from the ESP about the first send"
GAVE_UP = "gave up: not sent by the end of the reader's day"
# Rows of days before this many days ago are never healed (a very old claim is history).
HORIZON_DAYS = 3


@dataclass
class HealReport:
    dead_claims: int = 0
    uncertain: int = 0
    released: int = 0
    retried: int = 0
    requeued: int = 0
    gave_up: int = 0
    esp_down: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def settle_claim(token: str, ids: list[int], *, now: dt.datetime, report: HealReport) -> list[int]:
    """Settle the rows a dead sender left `sending` under `token`: the first unanswered row of a
    per-message claim (every row of a batch claim, or of a claim without an owner) becomes
    uncertain, the rest queued. Ids queued again."""
    ids = sorted(ids)
    per_message = settings.DIGEST_SEND_MODE == "per-message"
    maybe_sent, never_sent = (ids[:1], ids[1:]) if per_message and token else (ids, [])
    mine = Delivery.objects.filter(status=Delivery.Status.SENDING, claim_token=token)
    report.uncertain += mine.filter(pk__in=maybe_sent).update(
        status=Delivery.Status.UNCERTAIN,
        unknown_outcomes=F("unknown_outcomes") + 1,
        note=DIED_MID_SEND,
        updated_at=now,
    )
    released = list(mine.filter(pk__in=never_sent).values_list("pk", flat=True))
    moved = mine.filter(pk__in=released).update(
        status=Delivery.Status.QUEUED, attempts=F("attempts") - 1, note=RELEASED, updated_at=now
    )
    report.released += moved
    report.dead_claims += 1
    logger.warning("claim %r of a dead sender: %d uncertain, %d queued again", token, len(maybe_sent), moved)
    return released if moved == len(released) else _queued(released)


def _queued(ids: list[int]) -> list[int]:
    return list(
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED).values_list("pk", flat=True)
    )


def settle_dead_claims(*, now: dt.datetime, report: HealReport) -> list[int]:
    """Every claim past its lease (DIGEST_STUCK_AFTER_MINUTES): see settle_claim."""
    stale = now - dt.timedelta(minutes=settings.DIGEST_STUCK_AFTER_MINUTES)
    rows = Delivery.objects.filter(
        digest_date__gte=now.date() - dt.timedelta(days=HORIZON_DAYS),
        status=Delivery.Status.SENDING,
        claimed_at__lt=stale,
    ).values_list("claim_token", "pk")
    claims: dict[str, list[int]] = defaultdict(list)
    for token, pk in rows:
        claims[token].append(pk)
    released: list[int] = []
    for token, ids in claims.items():
        released += settle_claim(token, ids, now=now, report=report)
    return released


def retry_quiet_uncertain(*, now: dt.datetime, report: HealReport) -> list[int]:
    """Uncertain rows the ESP said nothing about for DIGEST_UNKNOWN_QUIET_MINUTES: their one
    careful retry (a second unknown outcome stays uncertain). Ids queued again."""
    quiet = now - dt.timedelta(minutes=settings.DIGEST_UNKNOWN_QUIET_MINUTES)
    rows = Delivery.objects.filter(
        digest_date__gte=now.date() - dt.timedelta(days=HORIZON_DAYS),
        status=Delivery.Status.UNCERTAIN,
        unknown_outcomes=1,
        updated_at__lt=quiet,
    )
    ids = list(rows.values_list("pk", flat=True))
    report.retried += rows.filter(pk__in=ids).update(
        status=Delivery.Status.QUEUED, note=CAREFUL_RETRY, updated_at=now
    )
    return _queued(ids)


def _day_over(tz: str, digest_date: dt.date, now: dt.datetime) -> bool:
    if not is_valid_timezone(tz):
        return digest_date < now.date() - dt.timedelta(days=1)
    local = local_now(tz, now)
    return local.date() > digest_date or (
        local.date() == digest_date and local.hour >= settings.DIGEST_GIVE_UP_HOUR
    )


def give_up_at_day_end(*, now: dt.datetime, report: HealReport) -> None:
    """Queued rows that waited past the reader's day (DIGEST_GIVE_UP_HOUR, local) fail."""
    waiting = Delivery.objects.filter(
        status=Delivery.Status.QUEUED,
        digest_date__lte=now.date(),
        updated_at__lt=now - dt.timedelta(minutes=settings.DIGEST_REQUEUE_AFTER_MINUTES),
    ).values_list("pk", "digest_date", "subscriber__timezone")
    over = [pk for pk, day, tz in waiting if _day_over(tz, day, now)]
    if over:
        report.gave_up += Delivery.objects.filter(pk__in=over, status=Delivery.Status.QUEUED).update(
            status=Delivery.Status.FAILED, note=GAVE_UP, updated_at=now
        )
        logger.error("gave up on %d digests not sent by the end of their readers' day", report.gave_up)


def heal(*, now: dt.datetime, enqueue: Callable[[list[int]], None], size: int) -> HealReport:
    """Settle dead claims and quiet unknown outcomes, give up on ended days, and hand out
    every queued row nobody is working on (unless the ESP's breaker is open)."""
    report = HealReport()
    again = settle_dead_claims(now=now, report=report)
    again += retry_quiet_uncertain(now=now, report=report)
    give_up_at_day_end(now=now, report=report)
    if breaker.is_open():
        report.esp_down = True
        logger.warning("ESP circuit breaker open: queued rows wait for it to close")
        return report
    for start in range(0, len(again), size):
        chunk = again[start : start + size]
        report.requeued += len(chunk)
        enqueue(chunk)
    stale = now - dt.timedelta(minutes=settings.DIGEST_REQUEUE_AFTER_MINUTES)
    waiting = Delivery.objects.filter(
        digest_date__gte=now.date() - dt.timedelta(days=HORIZON_DAYS),
        status=Delivery.Status.QUEUED,
        updated_at__lt=stale,
    )
    last = 0
    while ids := list(waiting.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]):
        last = ids[-1]
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED).update(updated_at=now)
        report.requeued += len(ids)
        enqueue(ids)
    if any(value for value in asdict(report).values()):
        logger.info("heal: %s", report.as_dict())
    return report
