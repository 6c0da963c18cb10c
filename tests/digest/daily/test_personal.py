"""Personal digests: keywords, followed authors and excluded words bring papers in or keep them
out, feedback moves papers up or down, and every paper says why it is there; readers without
personal signals still share editions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from digest.catalog.textmodel import to_vector_bytes
from digest.daily.dispatch import dispatch_due
from digest.daily.editions import plan_for_subscriber
from digest.daily.lists import PersonalList, list_for
from digest.daily.sending import send_chunk
from digest.models import Delivery, Edition, Feedback, Paper
from digest.readers.feedback import record_feedback
from subscriptions.interests import Interests
from subscriptions.models import Subscriber
from subscriptions.services import set_interests
from tests.digest.daily import fake_esp
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import esp_params, first_alternative

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def esp(settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    fake_esp.reset()
    mail.outbox = []
    with time_machine.travel(NOW, tick=False):
        yield fake_esp


def vector(*values: float) -> bytes:
    raw = np.array(values, dtype=np.float32)
    return to_vector_bytes(raw / np.linalg.norm(raw))


@pytest.fixture
def catalog():
    """A topic with three papers, and papers outside it: one with a keyword, one by a followed
    author, one about the topic but mentioning an excluded word."""
    llm = TopicFactory(name="LLM", slug="llm", terms=["llm"])
    topical = [
        PaperFactory(title=f"LLM paper {n}", abstract="On LLMs.", listed_on=DAY, upvotes=50 - n)
        for n in range(3)
    ]
    for paper in topical:
        PaperTopicFactory(paper=paper, topic=llm)
    excluded = PaperFactory(
        title="LLM quantum paper", abstract="Quantum circuits.", listed_on=DAY, upvotes=99
    )
    PaperTopicFactory(paper=excluded, topic=llm)
    keyword = PaperFactory(title="Compressing the KV-cache", abstract="Memory.", listed_on=DAY, upvotes=1)
    authored = PaperFactory(
        title="Robots that fold towels",
        abstract="Manipulation.",
        listed_on=DAY,
        upvotes=2,
        authors=[{"name": "Hedy Lamarr"}, {"name": "Ada Lovelace"}],
    )
    PaperFactory(title="Unrelated botany", abstract="Plants.", listed_on=DAY, upvotes=80)
    return llm, topical, excluded, keyword, authored


def own_list(row: Edition | None, reader_id: int) -> PersonalList:
    """The reader's list in a row of lists (it must be there)."""
    assert row is not None
    found = list_for(row, reader_id)
    assert found is not None
    return found


def personal_reader(topic, **interests):
    reader = SubscriberFactory(topics=[topic], delivery_hour=8, papers_per_email=5)
    set_interests(subscriber=reader, interests=Interests(**interests))
    return reader


def test_a_digest_carries_a_keyword_paper_and_a_followed_authors_paper_and_leaves_out_an_excluded_one(
    catalog,
):
    llm, topical, excluded, keyword, authored = catalog
    reader = personal_reader(llm, keywords=("KV cache",), authors=("H. Lamarr",), exclude_words=("quantum",))
    papers = plan_for_subscriber(subscriber=reader, digest_date=DAY)
    titles = [p.title for p in papers]
    assert titles[0] == authored.title  # a followed author's paper comes first
    assert keyword.title in titles
    assert excluded.title not in titles
    assert {p.title for p in topical} <= set(titles)
    assert "Unrelated botany" not in titles


def test_the_email_says_why_each_paper_is_there_and_carries_feedback_links(
    catalog, django_capture_on_commit_callbacks
):
    llm, _topical, _excluded, _keyword, authored = catalog
    reader = personal_reader(
        llm, keywords=("KV cache",), authors=("Hedy Lamarr",), exclude_words=("quantum",)
    )
    queued: list[list[int]] = []
    dispatch_due(enqueue=queued.append, now=NOW)
    edition = Edition.objects.get()
    assert edition.personal
    assert edition.html == ""
    assert edition.text == ""
    assert not edition.papers.exists()  # no link rows for a personal list
    for ids in queued:
        send_chunk(ids)
    (message,) = mail.outbox
    text = message.body
    assert "Why: you follow Hedy Lamarr" in text
    assert "Why: matches your keyword “KV cache”" in text
    html = first_alternative(message)
    assert "Why: you follow Hedy Lamarr" in html
    assert "%%PAPERBOY" not in html
    assert "%%PAPERBOY" not in text
    more = reverse("digest:feedback", args=["TOKEN", authored.pk, "more"]).split("TOKEN")
    assert more[0] in html
    assert more[1] in html
    assert Delivery.objects.get(subscriber=reader).status == Delivery.Status.SENT


def test_readers_without_personal_signals_share_one_edition_while_a_personal_reader_gets_their_own(catalog):
    llm, *_ = catalog
    SubscriberFactory.create_batch(3, topics=[llm], delivery_hour=8, papers_per_email=5)
    personal_reader(llm, exclude_words=("quantum",))
    report = dispatch_due(enqueue=lambda ids: None, now=NOW)
    assert report.due == 4
    assert report.editions == 2
    assert Edition.objects.filter(personal=True).count() == 1
    shared = Edition.objects.get(personal=False)
    assert Delivery.objects.filter(edition=shared).count() == 3


def test_a_reader_with_keywords_and_no_topic_gets_a_digest(catalog):
    _, _, _, keyword, _ = catalog
    reader = SubscriberFactory(delivery_hour=8)
    set_interests(subscriber=reader, interests=Interests(keywords=("kv-cache",)))
    assert reader.topic_key == ""
    papers = plan_for_subscriber(subscriber=reader, digest_date=DAY)
    assert [p.title for p in papers] == [keyword.title]


def test_more_like_this_lifts_similar_papers_and_less_like_this_sinks_them(catalog):
    llm, topical, *_ = catalog
    liked = PaperFactory(
        title="An older LLM paper", listed_on=DAY - dt.timedelta(days=30), vector=vector(1, 0, 0)
    )
    topical[0].vector = vector(0, 1, 0)  # the most upvoted, unlike what the reader liked
    topical[1].vector = vector(0.2, 0.9, 0)
    topical[2].vector = vector(1, 0.05, 0)  # the least upvoted, very like it
    for paper in topical:
        paper.save(update_fields=["vector"])
    reader = personal_reader(llm, exclude_words=("quantum",))
    record_feedback(subscriber=reader, paper=liked, value=Feedback.Value.MORE)
    reader.refresh_from_db()
    papers = plan_for_subscriber(subscriber=reader, digest_date=DAY)
    assert papers[0] == topical[2]

    record_feedback(subscriber=reader, paper=liked, value=Feedback.Value.LESS)
    reader.refresh_from_db()
    papers = plan_for_subscriber(subscriber=reader, digest_date=DAY)
    assert papers[-1] == topical[2]


def test_the_web_copy_of_a_personal_edition_has_no_personal_link(client, catalog):
    llm, *_ = catalog
    reader = personal_reader(llm, keywords=("KV cache",))
    dispatch_due(enqueue=lambda ids: None, now=NOW)
    row = Edition.objects.get()
    own = own_list(row, reader.pk)
    body = client.get(reverse("digest:personal_edition", args=own.slug.split("/"))).content.decode()
    assert "Compressing the KV-cache" in body
    assert "/feedback/" not in body
    assert "?r=" not in body
    assert "%%PAPERBOY" not in body


def _substituted(template: str, data: dict[str, str]) -> str:
    """What an ESP does with "{{name}}" merge fields for one recipient."""
    for name, value in data.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def three_personal_readers_dispatched(topic):
    """Three readers of `topic` with their own signals, dispatched: (readers, queued chunks)."""
    readers = [
        personal_reader(topic, keywords=("KV cache",), authors=("Hedy Lamarr",)),
        personal_reader(topic, exclude_words=("quantum",)),
        personal_reader(topic, authors=("Ada Lovelace",)),
    ]
    queued: list[list[int]] = []
    dispatch_due(enqueue=queued.append, now=NOW)
    return readers, queued


def test_batch_mode_sends_personal_editions_in_one_call_that_reads_as_the_single_message(
    catalog, settings, anymail_backend
):
    readers, queued = three_personal_readers_dispatched(catalog[0])
    (row,) = Edition.objects.filter(personal=True)  # the chunk's three lists are kept in one row
    assert sorted(row.reasons["lists"]) == sorted(f"r{r.pk}" for r in readers)

    settings.DIGEST_SEND_MODE = "batch"
    for ids in queued:
        send_chunk(ids)
    (batch,) = mail.outbox  # one ESP call carries all three personal digests
    params = esp_params(batch)
    assert sorted(batch.to) == sorted(r.email for r in readers)
    html = first_alternative(batch)

    # Each recipient's copy, as the ESP builds it, equals the message a per-message send builds.
    from digest.daily.assembly import assemble
    from digest.daily.sending import build_digest_message

    for reader in readers:
        data = params["merge_data"][reader.email]
        edition = own_list(Edition.objects.get(deliveries__subscriber=reader), reader.pk)
        assemble([edition])
        single = build_digest_message(rendered_or_edition=edition, subscriber=reader)
        feedback = data["feedback_token"]
        assert _substituted(str(batch.subject), data) == single.subject
        assert _substituted(html, data).replace(feedback, "T") == first_alternative(single).replace(
            single_feedback_token(single), "T"
        )
        assert _substituted(str(batch.body), data).replace(feedback, "T") == str(single.body).replace(
            single_feedback_token(single), "T"
        )
        assert params["merge_headers"][reader.email]["List-Unsubscribe"] == f"<{data['unsubscribe_url']}>"
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def single_feedback_token(message) -> str:
    text = str(message.body)
    return text.split("/feedback/", 1)[1].split("/", 1)[0]


def test_personal_batches_each_carry_their_own_readers_cards_and_load_papers_once(
    catalog, settings, anymail_backend
):
    readers, queued = three_personal_readers_dispatched(catalog[0])
    settings.DIGEST_SEND_MODE = "batch"
    settings.DIGEST_PERSONAL_BATCH = 2  # merge data is made per ESP call: two calls here
    from digest.daily import assembly

    assembly._shelf.for_day(DAY - dt.timedelta(days=1))  # this process has loaded no paper yet
    (ids,) = queued
    with CaptureQueriesContext(connection) as queries:
        send_chunk(ids)
    paper_loads = [q["sql"] for q in queries.captured_queries if 'FROM "digest_paper"' in q["sql"]]
    assert len(paper_loads) == 1  # both batches' cards come from one load
    assert sorted(len(m.to) for m in mail.outbox) == [1, 2]
    for message in mail.outbox:
        for email in message.to:
            data = esp_params(message)["merge_data"][email]
            reader = Subscriber.objects.get(email=email)
            edition = own_list(Edition.objects.get(deliveries__subscriber=reader), reader.pk)
            titles = [Paper.objects.get(pk=pk).title for pk in edition.paper_ids]
            assert len(titles) >= 3
            assert all(" ".join(t.split()) in data["cards"] for t in titles)
    assert sorted(e for m in mail.outbox for e in m.to) == sorted(r.email for r in readers)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_run_over_several_topic_sets_plans_each_reader_as_planning_them_alone(catalog):
    """What the planner keeps per topic set it keeps for the current set only: readers of
    another set, or of the first set again, still get their own lists and chips."""
    llm, topical, _, keyword, _ = catalog
    bots = TopicFactory(name="Robots", slug="robots", terms=["robot"])
    PaperTopicFactory(paper=PaperFactory(title="Robot arms", listed_on=DAY, upvotes=70), topic=bots)
    PaperTopicFactory(paper=topical[0], topic=bots)
    readers = [
        personal_reader(llm, keywords=("KV cache",)),
        personal_reader(bots, keywords=("KV cache",)),
        personal_reader(llm, exclude_words=("quantum",)),
    ]
    from digest.daily.due import DueReader
    from digest.daily.editions import Planner

    planner = Planner(now=NOW)
    due = [DueReader.for_subscriber(r, DAY) for r in readers]
    plans = planner.plan(due[:1]) + planner.plan(due[1:2]) + planner.plan(due[2:])
    editions = planner.editions_for(plans)
    for reader, plan in zip(readers, plans, strict=True):
        alone = [p.pk for p in plan_for_subscriber(subscriber=reader, digest_date=DAY)]
        assert list(plan.paper_ids) == alone
        stored = own_list(Edition.objects.get(pk=editions[(DAY, plan.key)]), reader.pk)
        chips = {pid: entry.get("chips", []) for pid, entry in stored.reasons["papers"].items()}
        topic = reader.topics.get().name
        assert chips[str(topical[0].pk)] == [topic]  # in both sets: the reader's own set's chip
    assert keyword.pk in plans[1].paper_ids
