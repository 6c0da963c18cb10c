"""Who is due a digest now: one SQL query per chunk, whatever the number of zones.

A reader is due when active, not paused on their local date, their local time
(IANA zone, DST included) has reached their delivery hour, it is their day
(daily; weekly on their weekday), and they have no Delivery for their local
date yet. An hour missed (beat down) is caught up later the same local day,
since "reached" is `delivery_hour <= local hour`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from django.db.models import Case, DateField, Exists, OuterRef, Q, QuerySet, Value, When

from digest.daily import storage
from digest.models import Delivery
from subscriptions.localtime import is_valid_timezone, local_now
from subscriptions.models import Subscriber
from subscriptions.selectors import mailable_subscribers

logger = logging.getLogger(__name__)


class DueReader(NamedTuple):
    """What planning needs of a due reader (senders read the address when they claim the row)."""

    pk: int
    topic_key: str
    frequency: str
    papers_per_email: int
    digest_date: dt.date
    # Editions sent in the no-repeat window (None: not looked up yet, e.g. a preview stand-in).
    recent_editions: list[int] | None = None
    # Keywords, authors, excluded words, feedback (Subscriber.profile); None: shares editions.
    profile: dict[str, Any] | None = None

    @classmethod
    def for_subscriber(cls, subscriber: Subscriber, digest_date: dt.date) -> DueReader:
        """The planning view of one reader (unsaved readers too, e.g. a preview stand-in)."""
        return cls(
            pk=subscriber.pk or 0,
            topic_key=subscriber.topic_key,
            frequency=subscriber.frequency,
            papers_per_email=subscriber.papers_per_email,
            digest_date=digest_date,
            profile=subscriber.profile,
        )


def _zone_rule(
    tz: str, *, now: dt.datetime, digest_date: dt.date | None, send_all: bool
) -> tuple[Q, dt.date]:
    local = local_now(tz, now)
    day = digest_date or local.date()
    rule = Q(timezone=tz)
    if not send_all:
        rule &= Q(delivery_hour__lte=local.hour) if day == local.date() else Q()
        rule &= Q(frequency=Subscriber.Frequency.DAILY) | Q(
            frequency=Subscriber.Frequency.WEEKLY, weekday=day.weekday()
        )
    rule &= Q(paused_until__isnull=True) | Q(paused_until__lte=day)
    return rule, day


def due_readers(
    *,
    now: dt.datetime,
    digest_date: dt.date | None = None,
    send_all: bool = False,
    email: str | None = None,
) -> QuerySet[Subscriber]:
    """Readers due now, annotated with `local_date` (their digest date).

    `digest_date` forces one date for everyone (hours then only apply to readers
    whose local today it is); `send_all` ignores delivery hours and weekdays.
    """
    readers = mailable_subscribers()
    if email:
        readers = readers.filter(email__iexact=email.strip())
    zones = sorted(readers.order_by().values_list("timezone", flat=True).distinct())
    rules, whens = Q(pk__in=[]), []
    for tz in zones:
        if not is_valid_timezone(tz):
            logger.error("readers with unknown time zone %r are not due until it is fixed", tz)
            continue
        rule, day = _zone_rule(tz, now=now, digest_date=digest_date, send_all=send_all)
        rules |= rule
        whens.append(When(timezone=tz, then=Value(day)))
    if not whens:
        return readers.none().annotate(local_date=Value(None, output_field=DateField()))
    already = Delivery.objects.filter(subscriber=OuterRef("pk"), digest_date=OuterRef("local_date"))
    return (
        readers.filter(rules)
        .annotate(local_date=Case(*whens, output_field=DateField()))
        .filter(~Exists(already))
    )


def due_chunks(queryset: QuerySet[Subscriber], *, size: int) -> Generator[list[DueReader], None, None]:
    """Yield lists of DueReader ordered by topic set, then primary key, each reader with the
    editions of their no-repeat window (one keyset page a chunk: see digest.daily.storage).
    Readers of one topic set come together, so a chunk spans few editions and a batch send
    makes few ESP calls."""
    if not storage.overlapped_writes():
        after: tuple[str, int] | None = None
        while rows := storage.due_page(queryset, after=after, size=size):
            after = (rows[-1][1], rows[-1][0])
            yield list(map(DueReader._make, rows))
        return
    # On PostgreSQL in autocommit the next page is read on a second connection while the
    # caller plans this one (a page starts after the last reader of the one before, so what
    # the caller writes meanwhile never changes it).
    pool = ThreadPoolExecutor(1, thread_name_prefix="due-reader")
    try:
        page = pool.submit(storage.due_page, queryset, after=None, size=size)
        while rows := page.result():
            after = (rows[-1][1], rows[-1][0])
            page = pool.submit(storage.due_page, queryset, after=after, size=size)
            yield list(map(DueReader._make, rows))
    finally:
        pool.submit(storage.close_connection).result()  # in the reader thread: closes its own connection
        pool.shutdown()
