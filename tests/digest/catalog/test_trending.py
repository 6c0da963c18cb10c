from __future__ import annotations

import pytest

from digest.catalog.trending import TrendingParams, trending_score

PARAMS = TrendingParams(gravity=1.5, age_offset_hours=2.0, comment_weight=2.0, growth_weight=1.0)


def score(**kwargs: float) -> float:
    values = {
        "upvotes": 0,
        "comments": 0,
        "upvote_growth": 0,
        "comment_growth": 0,
        "age_hours": 0.0,
        "relevance": 0.0,
    }
    values.update(kwargs)
    return trending_score(**values, params=PARAMS)  # type: ignore[arg-type]


def test_score_follows_the_documented_formula():
    expected = (10 + 2 * 3 + 1 * (4 + 2 * 1) + 1 + 0.5) / (6 + 2) ** 1.5
    got = score(upvotes=10, comments=3, upvote_growth=4, comment_growth=1, age_hours=6, relevance=0.5)
    assert got == pytest.approx(expected)


def test_older_paper_with_the_same_counts_scores_lower():
    assert score(upvotes=50, age_hours=2) > score(upvotes=50, age_hours=24) > score(upvotes=50, age_hours=72)


def test_growing_paper_beats_a_stale_one_with_the_same_total():
    assert score(upvotes=40, upvote_growth=25, age_hours=10) > score(
        upvotes=40, upvote_growth=0, age_hours=10
    )


def test_fresh_fast_growing_paper_overtakes_an_old_popular_one():
    assert score(upvotes=30, upvote_growth=20, age_hours=4) > score(upvotes=200, age_hours=72)


def test_zero_counts_rank_by_relevance_then_recency():
    assert score(relevance=0.9, age_hours=5) > score(relevance=0.3, age_hours=5)
    assert score(relevance=0.5, age_hours=1) > score(relevance=0.5, age_hours=30)
    assert score(relevance=0.0, age_hours=500) > 0


def test_one_real_upvote_counts_as_much_as_the_whole_relevance_range():
    assert score(upvotes=1, relevance=0.0, age_hours=3) == pytest.approx(score(relevance=1.0, age_hours=3))
    assert score(upvotes=1, relevance=0.0, age_hours=3) > score(relevance=0.99, age_hours=3)


def test_comments_count_with_their_weight():
    assert score(comments=1, age_hours=3) == pytest.approx(score(upvotes=2, age_hours=3))


@pytest.mark.parametrize("field", ["upvotes", "comments", "upvote_growth", "comment_growth", "relevance"])
def test_more_engagement_or_relevance_never_lowers_the_score(field: str):
    values = [score(**{field: v}, age_hours=12) for v in (0, 0.2, 1, 5, 50)]
    assert values == sorted(values)


def test_negative_growth_and_age_are_treated_as_zero():
    assert score(upvotes=10, upvote_growth=-5, age_hours=3) == score(upvotes=10, age_hours=3)
    assert score(upvotes=10, age_hours=-4) == score(upvotes=10, age_hours=0)


def test_params_come_from_settings(settings):
    settings.TRENDING_GRAVITY = 1.8
    settings.TRENDING_AGE_OFFSET_HOURS = 3.0
    settings.TRENDING_COMMENT_WEIGHT = 0.5
    settings.TRENDING_GROWTH_WEIGHT = 2.5
    assert TrendingParams.from_settings() == TrendingParams(1.8, 3.0, 0.5, 2.5)


def test_nonsense_params_are_refused():
    with pytest.raises(ValueError, match="age_offset_hours"):
        TrendingParams(age_offset_hours=0)
    with pytest.raises(ValueError, match="weights"):
        TrendingParams(comment_weight=-1)
