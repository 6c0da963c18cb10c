"""The daily run's storage: the PostgreSQL fast path and its portable twin give the same
results. On PostgreSQL both twins run on the same rows and are compared; on SQLite the
portable one is checked against what the daily run needs."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from types import ModuleType

import pytest
import time_machine

from digest.daily import storage
from digest.daily.due import due_readers
from digest.daily.storage import NewDelivery, portable, postgres
from digest.daily.storage.arrays import date_array, int_array
from digest.models import Delivery, Edition
from tests.factories import DeliveryFactory, PaperFactory, SubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = NOW.date()

needs_postgres = pytest.mark.skipif(
    not storage.on_postgresql(), reason="the fast path is PostgreSQL's (set DATABASE_URL)"
)


def twins() -> list[ModuleType]:
    return [portable, postgres] if storage.on_postgresql() else [portable]


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _edition(day: dt.date, key: str, paper_ids: list[int]) -> Edition:
    return Edition(
        digest_date=day, frequency="daily", topic_key="1", content_key=key, paper_ids=paper_ids,
        subject=f"s {key}", preheader="p", html="<p>h</p>", text="t",
    )  # fmt: skip


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_due_page_brings_each_readers_history_of_the_window(backend):
    topic = TopicFactory()
    readers = [
        SubscriberFactory(email=f"r{n}@example.com", topics=[topic], delivery_hour=0) for n in range(4)
    ]
    edition_recent = _saved_edition(DAY - dt.timedelta(days=2), "recent")
    edition_old = _saved_edition(DAY - dt.timedelta(days=20), "old")
    DeliveryFactory(subscriber=readers[0], digest_date=DAY - dt.timedelta(days=2), edition=edition_recent)
    DeliveryFactory(subscriber=readers[0], digest_date=DAY - dt.timedelta(days=20), edition=edition_old)
    DeliveryFactory(
        subscriber=readers[1], digest_date=DAY - dt.timedelta(days=1), edition=edition_recent,
        status=Delivery.Status.FAILED,
    )  # fmt: skip
    queryset = due_readers(now=NOW)
    first = backend.due_page(queryset, after=None, size=3, history_days=14)
    rest = backend.due_page(queryset, after=(first[-1][1], first[-1][0]), size=3, history_days=14)
    rows = first + rest
    assert [r[0] for r in rows] == sorted(r.pk for r in readers)
    history = {r[0]: r[5] for r in rows}
    assert history[readers[0].pk] == [edition_recent.pk]  # in the window; the 20-day-old one is not
    assert history[readers[1].pk] == []  # a failed delivery is not "sent"
    assert all(r[4] == DAY for r in rows)
    assert not backend.due_page(queryset, after=(rows[-1][1], rows[-1][0]), size=3, history_days=14)


def _saved_edition(day: dt.date, key: str, paper_ids: list[int] | None = None) -> Edition:
    edition = _edition(day, key, paper_ids or [])
    edition.save()
    return edition


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_insert_editions_stores_new_ones_and_returns_the_earlier_row_for_a_duplicate(backend):
    papers = [PaperFactory() for _ in range(3)]
    earlier = _saved_edition(DAY, "same", [papers[0].pk])
    new = [_edition(DAY, "same", [papers[0].pk]), _edition(DAY, "fresh", [p.pk for p in papers])]
    ids = backend.insert_editions(new)
    assert ids[(DAY, "same")] == earlier.pk
    fresh = Edition.objects.get(content_key="fresh")
    assert ids[(DAY, "fresh")] == fresh.pk
    assert sorted(fresh.papers.values_list("pk", flat=True)) == sorted(p.pk for p in papers)
    assert list(earlier.papers.values_list("pk", flat=True)) == [papers[0].pk]
    assert Edition.objects.count() == 2


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_insert_deliveries_queues_with_an_edition_skips_without_and_never_twice(backend):
    a, b, c = (SubscriberFactory(email=f"{n}@example.com") for n in "abc")
    edition = _saved_edition(DAY, "k")
    DeliveryFactory(subscriber=c, digest_date=DAY, edition=edition, status=Delivery.Status.SENT)
    rows = [
        NewDelivery(a.pk, DAY, edition.pk),
        NewDelivery(b.pk, DAY, None),
        NewDelivery(c.pk, DAY, edition.pk),
    ]
    queued = backend.insert_deliveries(rows, skipped_note="nothing new")
    assert queued == [Delivery.objects.get(subscriber=a).pk]
    skipped = Delivery.objects.get(subscriber=b)
    assert (skipped.status, skipped.note, skipped.edition_id) == (
        Delivery.Status.SKIPPED,
        "nothing new",
        None,
    )
    assert Delivery.objects.get(subscriber=c).status == Delivery.Status.SENT
    assert backend.insert_deliveries(rows, skipped_note="nothing new") == []  # a second run adds nothing
    assert Delivery.objects.count() == 3


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_claim_takes_queued_rows_once_and_record_writes_only_a_sending_row(backend):
    reader = SubscriberFactory(email="x@example.com")
    edition = _saved_edition(DAY, "k")
    queued = DeliveryFactory(
        subscriber=reader, digest_date=DAY, edition=edition, status=Delivery.Status.QUEUED
    )
    done = DeliveryFactory(
        subscriber=SubscriberFactory(email="y@example.com"), digest_date=DAY, edition=edition,
        status=Delivery.Status.SENT,
    )  # fmt: skip
    (row,) = backend.claim([queued.pk, done.pk], now=NOW, token="owner")
    assert row == (queued.pk, 1, edition.pk, reader.pk, "x@example.com", reader.token_key)
    assert backend.claim([queued.pk], now=NOW, token="other") == []
    record = functools.partial(backend.record_outcome, queued.pk, now=NOW, error="", message_id="esp-1")
    assert record(status="sent", token="other") == 0, "only the claim's owner writes its outcome"
    assert record(status="sent", token="owner") == 1
    assert record(status="failed", token="owner") == 0, "a row already settled is not written again"
    queued.refresh_from_db()
    assert (queued.status, queued.esp_message_id, queued.sent_at, queued.claim_token) == (
        "sent",
        "esp-1",
        NOW,
        "owner",
    )


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_an_unknown_outcome_is_counted_on_the_row(backend):
    row = DeliveryFactory(digest_date=DAY, edition=_saved_edition(DAY, "k"), status=Delivery.Status.QUEUED)
    backend.claim([row.pk], now=NOW, token="t")
    assert backend.record_outcome(
        row.pk, status="uncertain", now=NOW, error="timeout", message_id="", token="t"
    )
    row.refresh_from_db()
    assert (row.status, row.unknown_outcomes, row.error) == ("uncertain", 1, "timeout")


@pytest.mark.parametrize("backend", twins(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_mark_sent_writes_each_rows_own_message_id_and_leaves_other_states(backend):
    edition = _saved_edition(DAY, "k")
    rows = [
        DeliveryFactory(
            subscriber=SubscriberFactory(email=f"m{n}@example.com"), digest_date=DAY, edition=edition,
            status=Delivery.Status.SENDING if n != 2 else Delivery.Status.FAILED,
            claim_token="mine" if n < 3 else "someone else's",
        )
        for n in range(4)
    ]  # fmt: skip
    backend.mark_sent(
        [(rows[0].pk, 'id "0",\\'), (rows[1].pk, ""), (rows[2].pk, "x"), (rows[3].pk, "y")],
        now=NOW,
        token="mine",
    )
    got = {d.pk: (d.status, d.esp_message_id) for d in Delivery.objects.all()}
    assert got == {
        rows[0].pk: ("sent", 'id "0",\\'),
        rows[1].pk: ("sent", ""),
        rows[2].pk: ("failed", ""),
        rows[3].pk: ("sending", ""),
    }


def test_array_literals_have_the_shape_postgresql_reads():
    assert int_array([1, None, 3]) == "{1,NULL,3}"
    assert date_array([dt.date(2026, 3, 2)]) == "{2026-03-02}"
    assert int_array([]) == "{}"
