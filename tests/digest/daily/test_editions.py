"""Candidates per topic set, the 14-day no-repeat, shared editions, quiet days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from digest.catalog.ranking import ranked_papers
from digest.daily.candidates import CandidatePool
from digest.daily.due import DueReader
from digest.daily.editions import Planner, plan_for_subscriber
from digest.models import Delivery, Edition, Paper
from tests.factories import DeliveryFactory, PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


@pytest.fixture
def catalog():
    """Two topics; papers listed on DAY with known upvotes; one paper in both topics."""
    llm, video = TopicFactory(name="LLM", slug="llm"), TopicFactory(name="Video", slug="video")
    papers = {}
    for name, upvotes, topics in [
        ("llm-a", 50, [llm]),
        ("llm-b", 30, [llm]),
        ("both", 40, [llm, video]),
        ("video-a", 45, [video]),
        ("video-b", 5, [video]),
    ]:
        paper = PaperFactory(title=name, upvotes=upvotes, listed_on=DAY)
        for topic in topics:
            PaperTopicFactory(paper=paper, topic=topic, score=0.5)
        papers[name] = paper
    PaperFactory(title="yesterday", upvotes=999, listed_on=DAY - dt.timedelta(days=1))
    return {"llm": llm, "video": video, **papers}


def _reader(subscriber, *, day=DAY):
    return DueReader.for_subscriber(subscriber, day)


def _titles(pool, ids):
    return [pool.paper(pid).title for pid in ids]


def test_topic_set_candidates_equal_ranking_the_set_directly(catalog):
    pool = CandidatePool(digest_date=DAY, frequency="daily", now=NOW)
    topic_ids = [catalog["llm"].pk, catalog["video"].pk]
    merged = pool.candidates(topic_ids)
    direct = [r.paper.pk for r in ranked_papers(days=[DAY], topic_ids=topic_ids, now=NOW)]
    assert merged == direct
    assert _titles(pool, merged) == ["llm-a", "video-a", "both", "llm-b", "video-b"]


def test_daily_window_is_the_last_listing_day_and_weekly_the_last_seven(catalog):
    daily = CandidatePool(digest_date=DAY + dt.timedelta(days=2), frequency="daily", now=NOW)
    assert daily.days == [DAY]
    weekly = CandidatePool(digest_date=DAY, frequency="weekly", now=NOW)
    ids = weekly.candidates([p.pk for p in (catalog["llm"], catalog["video"])])
    assert len(weekly.days) == 7
    assert "yesterday" not in _titles(weekly, ids)  # matches no topic


def test_pinned_paper_comes_first_and_hidden_never_appears(catalog):
    catalog["video-b"].pinned = True
    catalog["video-b"].save()
    catalog["llm-a"].hidden = True
    catalog["llm-a"].save()
    pool = CandidatePool(digest_date=DAY, frequency="daily", now=NOW)
    titles = _titles(pool, pool.candidates([catalog["llm"].pk, catalog["video"].pk]))
    assert titles[0] == "video-b"
    assert "llm-a" not in titles


def test_papers_sent_in_the_last_14_days_are_left_out(catalog):
    reader = SubscriberFactory(topics=[catalog["llm"]], papers_per_email=2)
    old = Edition.objects.create(
        digest_date=DAY - dt.timedelta(days=3),
        topic_key=reader.topic_key,
        content_key="x",
        paper_ids=[catalog["llm-a"].pk],
        subject="s",
        html="h",
        text="t",
    )
    DeliveryFactory(subscriber=reader, digest_date=old.digest_date, edition=old, status=Delivery.Status.SENT)
    planner = Planner(now=NOW)
    (plan,) = planner.plan([_reader(reader)])
    assert [planner.pool(DAY, "daily").paper(p).title for p in plan.paper_ids] == ["both", "llm-b"]


def test_papers_sent_15_days_ago_may_come_again(catalog):
    reader = SubscriberFactory(topics=[catalog["llm"]], papers_per_email=1)
    old = Edition.objects.create(
        digest_date=DAY - dt.timedelta(days=15),
        topic_key=reader.topic_key,
        content_key="y",
        paper_ids=[catalog["llm-a"].pk],
        subject="s",
        html="h",
        text="t",
    )
    DeliveryFactory(subscriber=reader, digest_date=old.digest_date, edition=old, status=Delivery.Status.SENT)
    (plan,) = Planner(now=NOW).plan([_reader(reader)])
    assert plan.paper_ids == (catalog["llm-a"].pk,)


def test_readers_with_identical_lists_share_one_edition(catalog):
    a = SubscriberFactory(topics=[catalog["llm"]], papers_per_email=5)
    b = SubscriberFactory(topics=[catalog["llm"]], papers_per_email=5)
    c = SubscriberFactory(topics=[catalog["llm"]], papers_per_email=2)
    d = SubscriberFactory(topics=[catalog["video"]], papers_per_email=5)
    planner = Planner(now=NOW)
    plans = planner.plan([_reader(r) for r in (a, b, c, d)])
    editions = planner.editions_for(plans)
    assert plans[0].key == plans[1].key
    assert len({p.key for p in plans}) == 3
    assert len(editions) == 3
    assert Edition.objects.count() == 3
    # A second planning of the same lists renders nothing new.
    assert planner.editions_for(planner.plan([_reader(a)])) == {
        (DAY, plans[0].key): editions[(DAY, plans[0].key)]
    }
    assert Edition.objects.count() == 3


def test_edition_records_its_papers_in_order(catalog):
    reader = SubscriberFactory(topics=[catalog["video"]], papers_per_email=3)
    planner = Planner(now=NOW)
    plans = planner.plan([_reader(reader)])
    edition = Edition.objects.get(pk=next(iter(planner.editions_for(plans).values())))
    assert [Edition.objects.get(pk=edition.pk).papers.get(pk=p).title for p in edition.paper_ids] == [
        "video-a",
        "both",
        "video-b",
    ]
    assert "video-a" in edition.html
    assert "video-a" in edition.text


def test_quiet_day_plans_nothing(catalog):
    lonely = TopicFactory(name="Lonely", slug="lonely")
    reader = SubscriberFactory(topics=[lonely])
    (plan,) = Planner(now=NOW).plan([_reader(reader)])
    assert plan.paper_ids == ()
    assert plan.key == ""


def test_planning_a_chunk_takes_a_fixed_number_of_queries(catalog, django_assert_max_num_queries):
    readers = [SubscriberFactory(topics=[catalog["llm"], catalog["video"]]) for _ in range(5)]
    readers += [SubscriberFactory(topics=[catalog["llm"]]) for _ in range(5)]
    planner = Planner(now=NOW)
    planner.plan([_reader(r) for r in readers[:2]])  # warm the per-topic pools
    with django_assert_max_num_queries(2):
        planner.plan([_reader(r) for r in readers])


def test_plan_for_subscriber_matches_the_pipeline(catalog):
    reader = SubscriberFactory(topics=[catalog["llm"], catalog["video"]], papers_per_email=3)
    papers = plan_for_subscriber(subscriber=reader, digest_date=DAY)
    planner = Planner(now=timezone.now())
    (plan,) = planner.plan([_reader(reader)])
    assert [p.pk for p in papers] == list(plan.paper_ids)
    assert [p.title for p in papers] == ["llm-a", "video-a", "both"]


def test_daily_and_weekly_pools_and_day_indexes_share_one_object_per_paper(catalog):
    planner = Planner(now=NOW)
    daily, weekly = planner.pool(DAY, "daily"), planner.pool(DAY, "weekly")
    daily_index, _ = planner.personal(DAY, "daily")
    weekly_index, _ = planner.personal(DAY, "weekly")
    shown = catalog["both"].pk
    assert daily.paper(shown) is weekly.paper(shown)
    assert daily_index.papers[shown] is weekly_index.papers[shown] is daily.paper(shown)
    yesterday = Paper.objects.get(title="yesterday").pk  # in the week only
    assert yesterday in weekly_index.row
    assert yesterday not in daily_index.row
    row_daily, row_weekly = daily_index.row[shown], weekly_index.row[shown]
    assert daily_index.texts[row_daily] is weekly_index.texts[row_weekly]
    # Each index still ranks its own window: the week's pool has more papers than the day's.
    assert len(weekly_index.ids) == len(daily_index.ids) + 1


@pytest.mark.django_db(transaction=True)
def test_an_edition_slug_stays_unique_and_an_edition_updates_three_indexes():
    """Each edition written (a fifth of a million personal ones on a big day) updates the
    primary key, (digest_date, content_key) and slug indexes, nothing more; slugs stay unique."""
    first = Edition.objects.create(
        digest_date=DAY, topic_key="1", content_key="a", subject="s", html="", text=""
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Edition.objects.create(
            digest_date=DAY, topic_key="1", content_key="b", subject="s", html="", text="", slug=first.slug
        )
    assert Edition.objects.count() == 1
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Edition._meta.db_table)
    indexed = sorted(
        tuple(c["columns"])
        for c in constraints.values()
        if (c["index"] or c["unique"] or c["primary_key"]) and not c["foreign_key"]
    )
    assert indexed == [("digest_date", "content_key"), ("id",), ("slug",)]
