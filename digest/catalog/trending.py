"""The trending score: pure arithmetic, no ORM, no clock.

    score = (upvotes + C * comments + G * growth + 1 + relevance) / (age_hours + A) ** gravity

where C = comment_weight, G = growth_weight, A = age_offset_hours and
growth = max(0, upvote_growth + C * comment_growth) is the engagement gained
since the previous snapshot. The `1 + relevance` term (relevance is the best
topic-match score, 0..1) keeps papers without any engagement (seed papers carry
none) ranked by how well they match and how recent they are; one real upvote
counts as much as the whole relevance range. Older papers sink by the gravity decay.
Pins and hidden papers are handled by `digest.catalog.ranking`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class TrendingParams:
    gravity: float = 1.5
    age_offset_hours: float = 2.0
    comment_weight: float = 2.0
    growth_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.gravity < 0 or self.age_offset_hours <= 0:
            raise ValueError("gravity must be >= 0 and age_offset_hours > 0")
        if self.comment_weight < 0 or self.growth_weight < 0:
            raise ValueError("trending weights must be >= 0")

    @classmethod
    def from_settings(cls) -> TrendingParams:
        """Parameters from the TRENDING_* settings (see config/settings.py)."""
        return cls(
            gravity=settings.TRENDING_GRAVITY,
            age_offset_hours=settings.TRENDING_AGE_OFFSET_HOURS,
            comment_weight=settings.TRENDING_COMMENT_WEIGHT,
            growth_weight=settings.TRENDING_GROWTH_WEIGHT,
        )


def trending_score(
    *,
    upvotes: int,
    comments: int,
    upvote_growth: int,
    comment_growth: int,
    age_hours: float,
    relevance: float,
    params: TrendingParams,
) -> float:
    """Gravity-decayed engagement (formula in the module docstring); always > 0.

    Negative counts, growth or age (clock skew, corrected counts) are treated as zero.
    """
    growth = max(0, upvote_growth) + params.comment_weight * max(0, comment_growth)
    engagement = max(0, upvotes) + params.comment_weight * max(0, comments) + params.growth_weight * growth
    relevance = min(max(relevance, 0.0), 1.0)
    age = max(age_hours, 0.0)
    score: float = (engagement + 1.0 + relevance) / (age + params.age_offset_hours) ** params.gravity
    return score
