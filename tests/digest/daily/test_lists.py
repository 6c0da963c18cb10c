"""Personal lists kept in rows of lists (digest.daily.lists): one row a chunk, each list with
its own web address, the no-repeat history, past digests, export, delete, and the migration
of rows written before."""

from __future__ import annotations

import datetime as dt
import importlib
from urllib.parse import urlsplit

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.urls import reverse

from digest.daily.assembly import edition_url
from digest.daily.dispatch import dispatch_due
from digest.daily.sending import send_chunk
from digest.models import Delivery, Edition, Paper
from digest.readers.export import reader_data
from digest.readers.history import past_digests
from subscriptions.models import Topic
from subscriptions.services import delete_subscriber
from tests.digest.daily import test_personal
from tests.digest.daily.test_personal import DAY, NOW, own_list, personal_reader
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import first_alternative

pytestmark = pytest.mark.django_db

esp = test_personal.esp  # the fake ESP and the clock of test_personal (autouse)
catalog = test_personal.catalog


def web(slug: str) -> str:
    """The web address of an edition or list (its slug holds the list's part too)."""
    return urlsplit(edition_url(slug)).path


def three_readers(topic):
    return [
        personal_reader(topic, keywords=("KV cache",), authors=("Hedy Lamarr",)),
        personal_reader(topic, exclude_words=("quantum",)),
        personal_reader(topic, authors=("Ada Lovelace",)),
    ]


def dispatched_and_sent(now=NOW) -> list[list[int]]:
    queued: list[list[int]] = []
    dispatch_due(enqueue=queued.append, now=now)
    for ids in queued:
        send_chunk(ids)
    return queued


def test_each_list_is_read_at_its_own_address_and_nobody_elses(client, catalog):
    readers = three_readers(catalog[0])
    dispatched_and_sent()
    (row,) = Edition.objects.filter(personal=True)
    for reader in readers:
        own = own_list(row, reader.pk)
        message = next(m for m in mail.outbox if m.to == [reader.email])
        url = web(own.slug)
        assert url in first_alternative(message)  # "view in browser" is the reader's own page
        page = client.get(url)
        assert page.status_code == 200
        body = page.content.decode()
        titles = [p.title for p in Paper.objects.filter(pk__in=own.paper_ids)]
        assert titles
        assert all(title in body for title in titles)
        assert "private" in page["Cache-Control"]
    first, second = (own_list(row, r.pk) for r in readers[:2])
    stolen = f"{row.slug}/{second.reader_id}-{first.slug.rsplit('-', 1)[1]}"
    no_key = f"{row.slug}/{second.reader_id}"
    odd = [
        f"{row.slug}/x-y",
        f"{row.slug}/²-abc",
        f"{row.slug}/{'9' * 40}-abc",
        f"{row.slug}/99999-abc",
        f"{row.slug}/{second.reader_id}-ü",
    ]
    for wrong in (stolen, row.slug, no_key, *odd):
        assert client.get(web(wrong)).status_code == 404, wrong


def test_a_shared_edition_has_no_reader_address(client, catalog):
    SubscriberFactory(topics=[catalog[0]], delivery_hour=8)
    dispatched_and_sent()
    shared = Edition.objects.get()
    assert client.get(reverse("digest:edition", args=[shared.slug])).status_code == 200
    assert client.get(web(f"{shared.slug}/1-abc")).status_code == 404


def test_the_next_day_a_personal_reader_gets_no_paper_again(catalog):
    llm, topical, *_ = catalog
    reader = personal_reader(llm, keywords=("KV cache",))
    dispatched_and_sent()
    first = own_list(Edition.objects.get(personal=True), reader.pk).paper_ids
    assert len(first) == 5  # papers_per_email
    later = [PaperFactory(title=f"LLM later {n}", listed_on=DAY, upvotes=1) for n in range(3)]
    for paper in later:
        PaperTopicFactory(paper=paper, topic=llm)
    next_day = NOW + dt.timedelta(days=1)
    with time_machine.travel(next_day, tick=False):
        dispatched_and_sent(next_day)
    delivery = Delivery.objects.get(subscriber=reader, digest_date=DAY + dt.timedelta(days=1))
    assert delivery.status == Delivery.Status.SENT
    second = own_list(delivery.edition, reader.pk).paper_ids
    assert second
    assert not set(first) & set(second)
    assert set(second) <= {p.pk for p in later} | {p.pk for p in topical}


def test_a_history_over_more_rows_than_are_kept_decoded_still_holds_every_day(catalog, monkeypatch):
    """The planner keeps the paper ids of a few rows of lists decoded; rows a reader's history
    needs now are never dropped for it, however few are kept."""
    from digest.daily import editions

    monkeypatch.setattr(editions, "BUNDLES_KEPT", 1)
    llm, *_ = catalog
    reader = personal_reader(llm, keywords=("KV cache",))
    other = personal_reader(llm, authors=("Ada Lovelace",))
    sent: list[int] = []
    for day in range(3):
        for n in range(5):
            PaperTopicFactory(
                paper=PaperFactory(title=f"LLM day {day} {n}", listed_on=DAY, upvotes=1), topic=llm
            )
        now = NOW + dt.timedelta(days=day)
        with time_machine.travel(now, tick=False):
            dispatched_and_sent(now)
        delivery = Delivery.objects.get(subscriber=reader, digest_date=now.date())
        todays = own_list(delivery.edition, reader.pk).paper_ids
        assert len(todays) == 5
        assert not set(todays) & set(sent), f"day {day} repeats a paper"
        sent += todays
    assert Edition.objects.filter(personal=True).count() == 3
    assert Delivery.objects.filter(subscriber=other, status=Delivery.Status.SENT).count() == 3

    # One planner, chunk after chunk: a row decoded for an earlier chunk and wanted again
    # stays while newer rows come in.
    from digest.daily.due import DueReader

    first, second, third = Edition.objects.filter(personal=True).order_by("digest_date")
    planner = editions.Planner(now=NOW)
    due = DueReader.for_subscriber(reader, DAY + dt.timedelta(days=3))
    lists = [own_list(row, reader.pk).paper_ids for row in (first, second, third)]
    assert planner._history([due._replace(recent_editions=[first.pk])]) == {reader.pk: set(lists[0])}
    got = planner._history([due._replace(recent_editions=[first.pk, second.pk, third.pk])])
    assert got == {reader.pk: set(lists[0]) | set(lists[1]) | set(lists[2])}


def test_past_digests_and_the_export_give_a_readers_own_subject_and_address(client, catalog):
    readers = three_readers(catalog[0])
    dispatched_and_sent()
    row = Edition.objects.get(personal=True)
    for reader in readers:
        own = own_list(row, reader.pk)
        (past,) = past_digests(sender=None, subscriber=reader)
        assert past.subject == own.subject
        assert past.url.endswith(web(own.slug))
        assert client.get(past.url).status_code == 200
        (delivery,) = reader_data(sender=None, subscriber=reader)["deliveries"]
        assert delivery["subject"] == own.subject


def test_deleting_a_reader_takes_their_list_out_of_the_row(client, catalog):
    readers = three_readers(catalog[0])
    dispatched_and_sent()
    delete_subscriber(subscriber=readers[1])
    row = Edition.objects.get(personal=True)
    assert sorted(row.reasons["lists"]) == sorted(f"r{r.pk}" for r in (readers[0], readers[2]))
    assert "Hedy Lamarr" in str(row.reasons)  # the others' lists stay whole
    delete_subscriber(subscriber=readers[0])  # one list left: the row's own address still shows none
    assert len(Edition.objects.get(personal=True).reasons["lists"]) == 1
    assert client.get(web(row.slug)).status_code == 404


@pytest.mark.parametrize("mode", ["message", "batch"])
@pytest.mark.parametrize("damage", ["gone", "not a list", "ids not numbers", "chips not places"])
def test_a_delivery_whose_list_is_missing_fails_alone(catalog, settings, anymail_backend, mode, damage):
    settings.DIGEST_SEND_MODE = mode
    readers = three_readers(catalog[0])
    queued: list[list[int]] = []
    dispatch_due(enqueue=queued.append, now=NOW)
    row = Edition.objects.get(personal=True)
    name = f"r{readers[1].pk}"
    if damage == "gone":
        del row.reasons["lists"][name]
    elif damage == "not a list":
        row.reasons["lists"][name] = "broken"
    elif damage == "ids not numbers":
        row.reasons["lists"][name]["ids"] = ["x"]
    else:
        row.reasons["lists"][name]["chips"] = [["a"]] * 5
    row.save(update_fields=["reasons"])
    for ids in queued:
        result = send_chunk(ids)
        assert (result.sent, result.failed) == (2, 1)
    sent_to = sorted(email for m in mail.outbox for email in m.to)
    assert sent_to == sorted(r.email for r in (readers[0], readers[2]))
    broken = Delivery.objects.get(subscriber=readers[1])
    assert broken.status == Delivery.Status.FAILED
    assert "personal list is missing" in broken.error
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2


def test_a_personal_edition_written_before_becomes_a_row_of_its_list(client, catalog):
    reader = SubscriberFactory(topics=[catalog[0]])
    paper = catalog[1][0]
    old = Edition.objects.create(
        digest_date=DAY, topic_key="1", content_key="p" * 64, subject="Old list", preheader="Before",
        html="", text="", personal=True, paper_ids=[paper.pk],
        reasons={"topics": ["LLM"], "papers": {str(paper.pk): {"why": ["matches your keyword “LLM”"]}}},
    )  # fmt: skip
    shared = Edition.objects.create(digest_date=DAY, topic_key="1", content_key="s" * 64, subject="Shared")
    Delivery.objects.create(subscriber=reader, digest_date=DAY, edition=old, status="sent")
    migration = importlib.import_module("digest.migrations.0013_personal_lists_in_rows")
    twice = Edition.objects.create(
        digest_date=DAY, topic_key="1", content_key="t" * 64, subject="Shared list", personal=True,
        paper_ids=[paper.pk], reasons={"topics": [], "papers": {}},
    )  # fmt: skip
    one, two = SubscriberFactory(topics=[catalog[0]]), SubscriberFactory(topics=[catalog[0]])
    for someone in (one, two):
        Delivery.objects.create(subscriber=someone, digest_date=DAY, edition=twice, status="sent")
    never = Edition.objects.create(
        digest_date=DAY, topic_key="1", content_key="n" * 64, subject="Previewed", personal=True,
        paper_ids=[paper.pk], reasons={"topics": [], "papers": {}},
    )  # fmt: skip
    migration.into_rows(apps, None)
    migration.into_rows(apps, None)  # a second run changes nothing
    for row, readers in ((twice, (one, two)), (never, ())):
        row.refresh_from_db()
        assert sorted(row.reasons["lists"]) == (sorted(f"r{r.pk}" for r in readers) or ["r0"])
        body = client.get(reverse("digest:edition", args=[row.slug])).content.decode()
        assert paper.title in body  # its old address shows it still

    old.refresh_from_db()
    own = own_list(old, reader.pk)
    assert (own.paper_ids, own.subject, own.preheader) == ([paper.pk], "Old list", "Before")
    assert own.reasons["papers"][str(paper.pk)]["why"] == ["matches your keyword “LLM”"]
    assert old.paper_ids == []
    shared.refresh_from_db()
    assert shared.reasons == {}
    assert not shared.personal
    body = client.get(reverse("digest:edition", args=[old.slug])).content.decode()  # the old address
    assert paper.title in body


def test_a_row_keeps_its_topic_names_once_and_each_list_reads_back_whole(catalog):
    llm, topical, *_ = catalog
    readers = three_readers(llm)
    dispatched_and_sent()
    row = Edition.objects.get(personal=True)
    assert row.reasons["sets"] == {str(llm.pk): ["LLM"]}  # once for the three lists of that set
    for reader in readers:
        stored = row.reasons["lists"][f"r{reader.pk}"]
        assert stored["chips"]  # places in the set's names, not the names
        assert all(isinstance(n, int) for chips in stored["chips"] for n in chips)
        own = own_list(row, reader.pk)
        assert own.reasons["topics"] == ["LLM"]
        for paper in topical:
            if paper.pk in own.paper_ids:
                assert own.reasons["papers"][str(paper.pk)]["chips"] == ["LLM"]
    hedy = own_list(row, readers[0].pk)
    assert any("you follow Hedy Lamarr" in entry["why"] for entry in hedy.reasons["papers"].values())


def test_the_editors_preview_of_a_personal_digest_stores_no_list(catalog):
    from digest.desk.preview import preview_digest

    reader = personal_reader(catalog[0], keywords=("KV cache",))
    preview, message = preview_digest(digest_date=DAY, reader=reader)
    assert not Edition.objects.exists()  # nothing of the reader's is kept
    assert any("matches your keyword" in " ".join(why) for _, why in preview.why)
    assert "Compressing the KV-cache" in str(message.body)


def test_a_chip_whose_topic_was_renamed_during_the_run_keeps_its_name():
    from digest.daily.editions import Planner, chip_place

    TopicFactory(name="LLM", slug="llm")
    planner = Planner(now=NOW)
    key = str(Topic.objects.get().pk)
    assert chip_place(*planner._chip_names(key), "LLM") == 0
    assert chip_place(*planner._chip_names(key), "Large language models") == 1  # renamed mid-run
    assert planner._chip_names(key)[0] == ["LLM", "Large language models"]
