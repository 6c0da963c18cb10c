"""Selectors for the delivery health dashboard: one row per day for the last N days.

Six queries whatever the number of readers or deliveries: everything is grouped in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import EmailEvent, Subscriber

EVENT_METRICS = ("bounced", "complained", "opened", "clicked")
READER_METRICS = ("active", "signups")
_LEFT = [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED]
_SENT = [Delivery.Status.SENT, Delivery.Status.BOUNCED, Delivery.Status.COMPLAINED]


@dataclass
class DayHealth:
    day: dt.date
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    bounced: int = 0
    complained: int = 0
    opened: int = 0
    clicked: int = 0
    active: int = 0
    signups: int = 0


@dataclass
class Health:
    days: list[DayHealth] = field(default_factory=list)

    def series(self, metric: str) -> list[int]:
        return [getattr(row, metric) for row in self.days]

    def total(self, metric: str) -> int:
        return sum(self.series(metric))


def delivery_health(*, days: int = 30, today: dt.date | None = None) -> Health:
    """Per UTC day, oldest first: deliveries by digest date (queued = all rows, sent, failed,
    skipped), ESP events by the day they happened, active readers at the day's end, sign-ups."""
    today = today or timezone.now().date()
    first = today - dt.timedelta(days=days - 1)
    rows = {first + dt.timedelta(days=i): DayHealth(day=first + dt.timedelta(days=i)) for i in range(days)}
    start = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
    _deliveries(rows, first=first, today=today)
    _events(rows, start=start)
    _readers(rows, start=start)
    return Health(days=list(rows.values()))


def _deliveries(rows: dict[dt.date, DayHealth], *, first: dt.date, today: dt.date) -> None:
    counts = (
        Delivery.objects.filter(digest_date__gte=first, digest_date__lte=today)
        .values("digest_date")
        .annotate(
            queued=Count("id"),
            sent=Count("id", filter=Q(status__in=_SENT)),
            failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
            skipped=Count("id", filter=Q(status=Delivery.Status.SKIPPED)),
        )
        .order_by()
    )
    for row in counts:
        target = rows[row["digest_date"]]
        target.queued, target.sent = row["queued"], row["sent"]
        target.failed, target.skipped = row["failed"], row["skipped"]


def _events(rows: dict[dt.date, DayHealth], *, start: dt.datetime) -> None:
    when = Coalesce("occurred_at", "received_at")
    counts = (
        EmailEvent.objects.annotate(at=when)
        .filter(at__gte=start, event_type__in=EVENT_METRICS)
        .annotate(day=TruncDate("at", tzinfo=dt.UTC))
        .values("day", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in counts:
        if row["day"] in rows:
            setattr(rows[row["day"]], row["event_type"], row["n"])


def _per_day(queryset: object, column: str, start: dt.datetime) -> dict[dt.date, int]:
    grouped = (
        queryset.filter(**{f"{column}__gte": start})  # type: ignore[attr-defined]
        .annotate(day=TruncDate(column, tzinfo=dt.UTC))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["day"]: row["n"] for row in grouped}


def _readers(rows: dict[dt.date, DayHealth], *, start: dt.datetime) -> None:
    """Active at a day's end = confirmed by then minus those who left by then."""
    confirmed = Subscriber.objects.filter(confirmed_at__isnull=False)
    left = confirmed.filter(status__in=_LEFT).annotate(left_at=Coalesce("unsubscribed_at", "updated_at"))
    before = Subscriber.objects.aggregate(
        confirmed=Count("id", filter=Q(confirmed_at__lt=start)),
        left=Count(
            "id",
            filter=Q(confirmed_at__isnull=False, status__in=_LEFT)
            & (Q(unsubscribed_at__lt=start) | Q(unsubscribed_at__isnull=True, updated_at__lt=start)),
        ),
    )
    joined_per_day = _per_day(confirmed, "confirmed_at", start)
    left_per_day = _per_day(left, "left_at", start)
    signups = _per_day(Subscriber.objects.all(), "created_at", start)
    active = before["confirmed"] - before["left"]
    per_day: dict[dt.date, int] = defaultdict(int, signups)
    for day, row in rows.items():
        active += joined_per_day.get(day, 0) - left_per_day.get(day, 0)
        row.active = max(active, 0)
        row.signups = per_day[day]
