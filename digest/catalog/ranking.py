"""Selectors: the trending papers of some listing days, optionally for some topics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from django.db.models import Exists, Max, OuterRef, Prefetch
from django.utils import timezone

from digest.catalog.trending import TrendingParams, trending_score
from digest.models import Paper, PaperSnapshot, PaperTopic


@dataclass
class RankedPaper:
    """A paper in ranked order: `topic_names` / `reasons` say which asked topics it matched and why."""

    paper: Paper
    score: float
    pinned: bool
    topic_names: list[str] = field(default_factory=list)
    relevance: float = 0.0
    reasons: list[str] = field(default_factory=list)  # why it matched, aligned with topic_names


def latest_listing_day() -> dt.date | None:
    """The most recent day any visible paper was listed on, or None for an empty catalog."""
    visible = Paper.objects.filter(hidden=False, withdrawn=False)
    day: dt.date | None = visible.aggregate(day=Max("listed_on"))["day"]
    return day


def paper_age_hours(paper: Paper, now: dt.datetime) -> float:
    """Hours since the paper was listed (its publication time when that falls later the same day)."""
    listed = dt.datetime.combine(paper.listed_on, dt.time.min, tzinfo=dt.UTC)
    start = max(listed, paper.published_at) if paper.published_at else listed
    return max((now - start).total_seconds() / 3600.0, 0.0)


def _growth(snapshots: Sequence[PaperSnapshot]) -> tuple[int, int]:
    """Upvotes and comments gained between the latest two snapshots (newest first)."""
    if len(snapshots) < 2:
        return 0, 0
    latest, previous = snapshots[0], snapshots[1]
    return latest.upvotes - previous.upvotes, latest.comments - previous.comments


MATCH_FIELDS = (
    "paper_id", "topic_id", "score", "reason", "manual", "excluded", "matched_at",
    "topic__name", "topic__slug", "topic__position", "topic__is_active",
)  # fmt: skip


def ranked_papers(
    *,
    days: Sequence[dt.date],
    topic_ids: Collection[int] | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
    include_hidden: bool = False,
    lean: bool = False,
    untopical: bool = False,
) -> list[RankedPaper]:
    """Papers listed on any of `days`, matching any of `topic_ids` (all when None), best first.

    Pinned papers (pin valid on their listing day) come first, then by trending score.
    Hidden and withdrawn papers are left out unless `include_hidden`. Three queries.
    `lean` leaves out the fields no digest shows (keywords, categories, thumbnail);
    `untopical` keeps only papers no topic matches.
    """
    now = now or timezone.now()
    params = TrendingParams.from_settings()
    # Of the topic, only what a card shows: its rules (five JSON lists) would be decoded again for
    # every match row otherwise, the largest cost of a 5,000-paper pool.
    matches = (
        PaperTopic.objects.filter(excluded=False)
        .select_related("topic")
        .only(*MATCH_FIELDS)
        .order_by("-score")
    )
    papers = Paper.objects.filter(listed_on__in=list(days))
    if topic_ids is not None:
        topic_ids = set(topic_ids)
        matches = matches.filter(topic_id__in=topic_ids)
        papers = papers.filter(
            Exists(PaperTopic.objects.filter(paper=OuterRef("pk"), topic_id__in=topic_ids, excluded=False))
        )
    else:
        matches = matches.filter(topic__is_active=True)
    if untopical:
        papers = papers.filter(~Exists(PaperTopic.objects.filter(paper=OuterRef("pk"), excluded=False)))
    if not include_hidden:
        papers = papers.filter(hidden=False, withdrawn=False)
    if lean:
        papers = papers.defer("ai_keywords", "categories", "thumbnail")
    papers = papers.prefetch_related(
        Prefetch("topic_matches", queryset=matches, to_attr="ranked_matches"),
        Prefetch(
            "snapshots",
            queryset=PaperSnapshot.objects.order_by("-taken_at", "-id")[:2],
            to_attr="latest_snapshots",
        ),
    )
    ranked = [rank_paper(paper, now=now, params=params) for paper in papers]
    ranked.sort(key=lambda r: (not r.pinned, -r.score, -r.paper.upvotes, r.paper.pk))
    return ranked[:limit] if limit is not None else ranked


def rank_paper(paper: Paper, *, now: dt.datetime, params: TrendingParams) -> RankedPaper:
    """Score one paper prefetched as `ranked_papers` does (its `ranked_matches` and
    `latest_snapshots`); the candidate pools call it once per (paper, topic)."""
    found: list[PaperTopic] = paper.ranked_matches  # type: ignore[attr-defined]
    relevance = max((m.score for m in found), default=0.0)
    upvote_growth, comment_growth = _growth(paper.latest_snapshots)  # type: ignore[attr-defined]
    score = trending_score(
        upvotes=paper.upvotes,
        comments=paper.comments,
        upvote_growth=upvote_growth,
        comment_growth=comment_growth,
        age_hours=paper_age_hours(paper, now),
        relevance=relevance,
        params=params,
    )
    return RankedPaper(
        paper=paper,
        score=score,
        pinned=paper.is_pinned_on(paper.listed_on),
        topic_names=[m.topic.name for m in found],
        relevance=relevance,
        reasons=[m.reason for m in found],
    )
