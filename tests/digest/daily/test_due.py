"""Who is due: local hour, weekday, pause, time zones and DST."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any, TypedDict, cast

import pytest

from digest.daily.due import due_chunks, due_readers
from digest.daily.storage import on_postgresql, overlapped_writes
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.factories import DeliveryFactory, SubscriberFactory

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import WithAnnotations

pytestmark = pytest.mark.django_db

UTC = dt.UTC


class _LocalDate(TypedDict):
    local_date: dt.date


def _due_emails(now: dt.datetime, **kwargs: Any) -> set[str]:
    return set(due_readers(now=now, **kwargs).values_list("email", flat=True))


def test_reader_is_due_once_their_local_hour_has_come():
    SubscriberFactory(email="tokyo@example.com", timezone="Asia/Tokyo", delivery_hour=8)
    # 23:00 UTC is 08:00 the next day in Tokyo.
    assert _due_emails(dt.datetime(2026, 3, 2, 22, 59, tzinfo=UTC)) == set()
    assert _due_emails(dt.datetime(2026, 3, 2, 23, 0, tzinfo=UTC)) == {"tokyo@example.com"}


def test_missed_hour_is_caught_up_later_the_same_local_day():
    SubscriberFactory(email="late@example.com", timezone="Europe/Paris", delivery_hour=7)
    assert _due_emails(dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)) == {"late@example.com"}


def test_local_date_annotation_follows_the_readers_zone():
    SubscriberFactory(email="la@example.com", timezone="America/Los_Angeles", delivery_hour=0)
    SubscriberFactory(email="auckland@example.com", timezone="Pacific/Auckland", delivery_hour=0)
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    # due_readers() annotates each reader with local_date; its QuerySet[Subscriber] type cannot say so
    readers = cast("QuerySet[WithAnnotations[Subscriber, _LocalDate]]", due_readers(now=now))
    dates = dict(readers.values_list("email", "local_date"))
    assert dates == {"la@example.com": dt.date(2026, 3, 2), "auckland@example.com": dt.date(2026, 3, 3)}


def test_dst_change_moves_the_utc_send_time_not_the_local_hour():
    SubscriberFactory(email="ny@example.com", timezone="America/New_York", delivery_hour=7)
    # Before DST (EST, UTC-5): 07:00 local is 12:00 UTC.
    assert _due_emails(dt.datetime(2026, 3, 7, 11, 30, tzinfo=UTC)) == set()
    assert _due_emails(dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)) == {"ny@example.com"}
    # After the switch on 2026-03-08 (EDT, UTC-4): 07:00 local is 11:00 UTC.
    assert _due_emails(dt.datetime(2026, 3, 9, 10, 59, tzinfo=UTC)) == set()
    assert _due_emails(dt.datetime(2026, 3, 9, 11, 0, tzinfo=UTC)) == {"ny@example.com"}


def test_weekly_reader_is_due_only_on_their_weekday():
    SubscriberFactory(email="weekly@example.com", frequency="weekly", weekday=2, delivery_hour=6)
    wednesday = dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    assert _due_emails(wednesday) == {"weekly@example.com"}
    assert _due_emails(wednesday + dt.timedelta(days=1)) == set()


def test_send_all_ignores_hours_and_weekdays():
    SubscriberFactory(email="weekly@example.com", frequency="weekly", weekday=2, delivery_hour=23)
    thursday_morning = dt.datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
    assert _due_emails(thursday_morning) == set()
    assert _due_emails(thursday_morning, send_all=True) == {"weekly@example.com"}


def test_paused_reader_is_not_due_until_the_pause_ends():
    SubscriberFactory(email="paused@example.com", delivery_hour=0, paused_until=dt.date(2026, 3, 10))
    assert _due_emails(dt.datetime(2026, 3, 9, 12, tzinfo=UTC)) == set()
    assert _due_emails(dt.datetime(2026, 3, 10, 12, tzinfo=UTC)) == {"paused@example.com"}


@pytest.mark.parametrize(
    "status",
    [
        Subscriber.Status.PENDING,
        Subscriber.Status.UNSUBSCRIBED,
        Subscriber.Status.BOUNCED,
        Subscriber.Status.COMPLAINED,
    ],
)
def test_only_active_readers_are_due(status):
    SubscriberFactory(email="x@example.com", status=status, delivery_hour=0)
    assert _due_emails(dt.datetime(2026, 3, 2, 12, tzinfo=UTC)) == set()


def test_reader_with_a_delivery_for_their_local_date_is_not_due():
    reader = SubscriberFactory(email="done@example.com", delivery_hour=0)
    now = dt.datetime(2026, 3, 2, 12, tzinfo=UTC)
    DeliveryFactory(subscriber=reader, digest_date=dt.date(2026, 3, 1), status=Delivery.Status.SENT)
    assert _due_emails(now) == {"done@example.com"}
    DeliveryFactory(subscriber=reader, digest_date=dt.date(2026, 3, 2), status=Delivery.Status.SKIPPED)
    assert _due_emails(now) == set()


def test_unknown_time_zone_is_logged_not_crashing(caplog):
    SubscriberFactory(email="bad@example.com", timezone="Mars/Olympus", delivery_hour=0)
    SubscriberFactory(email="good@example.com", delivery_hour=0)
    assert _due_emails(dt.datetime(2026, 3, 2, 12, tzinfo=UTC)) == {"good@example.com"}
    assert "Mars/Olympus" in caplog.text


def test_due_chunks_walk_every_reader_once_in_fixed_queries(django_assert_num_queries):
    for n in range(7):
        SubscriberFactory(email=f"r{n}@example.com", delivery_hour=0)
    queryset = due_readers(now=dt.datetime(2026, 3, 2, 12, tzinfo=UTC))
    # 3 chunks of 3, 3, 1 plus the final empty one; each reader's history comes in the page's
    # query on PostgreSQL, in one more query per page elsewhere.
    per_page = 1 if on_postgresql() else 2
    with django_assert_num_queries(3 * per_page + 1):
        chunks = list(due_chunks(queryset, size=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert len({r.pk for chunk in chunks for r in chunk}) == 7
    assert all(r.recent_editions == [] for chunk in chunks for r in chunk)


@pytest.mark.skipif(
    not on_postgresql(),
    reason="the next page is read on a second connection on PostgreSQL only (set DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_due_chunks_read_ahead_on_a_second_connection_give_the_same_pages(settings):
    for n in range(7):
        SubscriberFactory(email=f"r{n}@example.com", delivery_hour=0)
    queryset = due_readers(now=dt.datetime(2026, 3, 2, 12, tzinfo=UTC))
    settings.DIGEST_OVERLAP_WRITES = True
    assert overlapped_writes()
    ahead = list(due_chunks(queryset, size=3))
    settings.DIGEST_OVERLAP_WRITES = False
    inline = list(due_chunks(queryset, size=3))
    assert [len(c) for c in ahead] == [3, 3, 1]
    assert ahead == inline
    assert not [t for t in threading.enumerate() if t.name.startswith("due-reader")]
    # a walk left early stops its reader thread too
    settings.DIGEST_OVERLAP_WRITES = True
    walk = due_chunks(queryset, size=3)
    assert len(next(walk)) == 3
    walk.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("due-reader")]
