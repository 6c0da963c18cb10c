from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from digest.catalog.ranking import latest_listing_day, ranked_papers
from digest.models import PaperSnapshot
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)


def paper(**kwargs):
    kwargs.setdefault("listed_on", DAY)
    kwargs.setdefault("published_at", None)
    return PaperFactory(**kwargs)


def ids(ranked):
    return [r.paper.pk for r in ranked]


def test_latest_listing_day_ignores_hidden_and_withdrawn_papers():
    assert latest_listing_day() is None
    paper(listed_on=DAY)
    paper(listed_on=DAY + dt.timedelta(days=1), hidden=True)
    paper(listed_on=DAY + dt.timedelta(days=2), withdrawn=True)
    assert latest_listing_day() == DAY


def test_papers_rank_by_upvotes_on_one_day_and_other_days_are_left_out():
    low, high, mid = paper(upvotes=3), paper(upvotes=40), paper(upvotes=12)
    paper(upvotes=500, listed_on=DAY - dt.timedelta(days=1))
    assert ids(ranked_papers(days=[DAY], now=NOW)) == [high.pk, mid.pk, low.pk]


def test_hidden_and_withdrawn_papers_are_out_unless_the_admin_asks():
    shown = paper(upvotes=1)
    hidden = paper(upvotes=9, hidden=True)
    withdrawn = paper(upvotes=8, withdrawn=True)
    assert ids(ranked_papers(days=[DAY], now=NOW)) == [shown.pk]
    assert ids(ranked_papers(days=[DAY], now=NOW, include_hidden=True)) == [hidden.pk, withdrawn.pk, shown.pk]


def test_pinned_paper_comes_first_only_inside_its_pin_range():
    popular = paper(upvotes=100)
    pinned = paper(upvotes=1, pinned=True, pinned_from=DAY, pinned_until=DAY)
    expired = paper(upvotes=2, pinned=True, pinned_until=DAY - dt.timedelta(days=1))
    ranked = ranked_papers(days=[DAY], now=NOW)
    assert ids(ranked) == [pinned.pk, popular.pk, expired.pk]
    assert [r.pinned for r in ranked] == [True, False, False]


def test_topic_filter_uses_non_excluded_matches_and_names_the_asked_topics():
    video, audio, other = (TopicFactory(name=n, slug=n.lower()) for n in ("Video", "Audio", "Other"))
    both = paper(upvotes=5)
    PaperTopicFactory(paper=both, topic=video, score=0.4)
    PaperTopicFactory(paper=both, topic=audio, score=0.8)
    PaperTopicFactory(paper=both, topic=other, score=0.9)
    excluded = paper(upvotes=50)
    PaperTopicFactory(paper=excluded, topic=video, score=1.0, manual=True, excluded=True)
    paper(upvotes=70)  # matches nothing

    ranked = ranked_papers(days=[DAY], topic_ids=[video.pk, audio.pk], now=NOW)

    assert ids(ranked) == [both.pk]
    assert sorted(ranked[0].topic_names) == ["Audio", "Video"]
    assert ranked[0].relevance == pytest.approx(0.8)


def test_without_topics_every_paper_is_ranked():
    assert len(ranked_papers(days=[DAY], now=NOW)) == 0
    paper()
    paper()
    assert len(ranked_papers(days=[DAY], topic_ids=None, now=NOW)) == 2


def test_zero_count_papers_rank_by_relevance():
    topic = TopicFactory()
    weak, strong = paper(upvotes=0), paper(upvotes=0)
    PaperTopicFactory(paper=weak, topic=topic, score=0.3)
    PaperTopicFactory(paper=strong, topic=topic, score=0.9)
    assert ids(ranked_papers(days=[DAY], topic_ids=[topic.pk], now=NOW)) == [strong.pk, weak.pk]


def test_newer_listing_day_beats_older_with_same_counts_across_a_week():
    old = paper(upvotes=10, listed_on=DAY - dt.timedelta(days=5))
    new = paper(upvotes=10, listed_on=DAY)
    days = [DAY - dt.timedelta(days=n) for n in range(7)]
    assert ids(ranked_papers(days=days, now=NOW)) == [new.pk, old.pk]


def test_growth_between_the_last_two_snapshots_lifts_a_paper():
    steady, rising = paper(upvotes=30), paper(upvotes=30)
    base = NOW - dt.timedelta(hours=6)
    for p, counts in ((steady, (29, 30, 30)), (rising, (0, 5, 30))):
        for n, upvotes in enumerate(counts):
            PaperSnapshot.objects.create(paper=p, taken_at=base + dt.timedelta(hours=n), upvotes=upvotes)
    ranked = ranked_papers(days=[DAY], now=NOW)
    assert ids(ranked) == [rising.pk, steady.pk]
    assert ranked[0].score > ranked[1].score


def test_limit_keeps_the_best():
    papers = [paper(upvotes=n) for n in range(5)]
    assert ids(ranked_papers(days=[DAY], now=NOW, limit=2)) == [papers[4].pk, papers[3].pk]


@time_machine.travel(NOW)
def test_now_defaults_to_the_clock():
    p = paper(upvotes=10)
    assert ranked_papers(days=[DAY])[0].score == pytest.approx(ranked_papers(days=[DAY], now=NOW)[0].score)
    assert p.pk


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_does_not_grow_with_papers(django_assert_max_num_queries, count):
    topics = [TopicFactory() for _ in range(3)]
    for n in range(count):
        p = paper(upvotes=n)
        for t in topics:
            PaperTopicFactory(paper=p, topic=t, score=0.5)
        PaperSnapshot.objects.create(paper=p, taken_at=NOW - dt.timedelta(hours=2), upvotes=n)
        PaperSnapshot.objects.create(paper=p, taken_at=NOW - dt.timedelta(hours=1), upvotes=n)
    with django_assert_max_num_queries(3):
        ranked = ranked_papers(days=[DAY], topic_ids=[t.pk for t in topics], now=NOW)
        assert all(len(r.topic_names) == 3 for r in ranked)
    assert len(ranked) == count
