"""Selectors for the public pages, feeds and API: ranked papers of a day or a week,
neighbouring listing days, one paper with the editions that carried it.

Read-only; every function runs a fixed number of queries whatever the list size.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q, QuerySet

from digest.catalog.ranking import RankedPaper, latest_listing_day, ranked_papers
from digest.models import PAPER_ID_MAX_LENGTH, Delivery, Edition, Paper, PaperTopic
from subscriptions.models import Topic

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
SUMMARY_MAX_CHARS = 320


@dataclass
class Listing:
    """Ranked papers of `days` (one day or a week), optionally for one topic."""

    days: list[dt.date]
    topic: Topic | None
    papers: list[RankedPaper]
    previous_day: dt.date | None = None
    next_day: dt.date | None = None
    topics: list[Topic] = field(default_factory=list)


def paper_summary(paper: Paper, *, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """The paper's one-line summary: its HF ai_summary, else the abstract's first sentences."""
    text = " ".join((paper.ai_summary or paper.abstract or "").split())
    if len(text) <= max_chars:
        return text
    summary = ""
    for sentence in _SENTENCE_END.split(text):
        if summary and len(summary) + 1 + len(sentence) > max_chars:
            break
        summary = f"{summary} {sentence}".strip()
        if len(summary) >= max_chars // 2:
            break
    if len(summary) > max_chars:
        summary = summary[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return summary


def authors_line(authors: list[str], *, first: int = 3) -> str:
    """The first `first` authors, then "et al." when there are more."""
    names = [str(name) for name in authors if name]
    return ", ".join(names[:first]) + (" et al." if len(names) > first else "")


def active_topics() -> list[Topic]:
    """Topics readers can pick, in display order (one query)."""
    return list(Topic.objects.filter(is_active=True).order_by("position", "name"))


def find_topic(slug: str, topics: list[Topic]) -> Topic | None:
    """The active topic with `slug` among `topics` (no query)."""
    return next((topic for topic in topics if topic.slug == slug), None)


def week_of(day: dt.date) -> list[dt.date]:
    """Monday to Sunday of the ISO week that holds `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=offset) for offset in range(7)]


def _visible() -> QuerySet[Paper]:
    return Paper.objects.filter(hidden=False, withdrawn=False)


def _topic_filter(topic: Topic | None) -> Q:
    if topic is None:
        return Q()
    return Q(topic_matches__topic=topic, topic_matches__excluded=False)


def neighbour_days(days: list[dt.date], topic: Topic | None = None) -> tuple[dt.date | None, dt.date | None]:
    """The closest listing days with visible papers before and after `days` (two queries)."""
    papers = _visible().filter(_topic_filter(topic))
    before = papers.filter(listed_on__lt=min(days)).aggregate(day=Max("listed_on"))["day"]
    after = papers.filter(listed_on__gt=max(days)).aggregate(day=Min("listed_on"))["day"]
    return before, after


def listing_for(
    *, days: list[dt.date], topic: Topic | None, topics: list[Topic], now: dt.datetime | None = None
) -> Listing:
    """Papers of `days` ranked by the same score as the email, with the neighbouring days."""
    ranked = ranked_papers(days=days, topic_ids=[topic.pk] if topic else None, now=now)
    previous_day, next_day = neighbour_days(days, topic)
    return Listing(
        days=days, topic=topic, papers=ranked, previous_day=previous_day, next_day=next_day, topics=topics
    )


def feed_papers(*, topic: Topic | None, days: int = 7, limit: int = 50) -> list[RankedPaper]:
    """Trending papers of the latest listing day and the `days - 1` days before it."""
    latest = latest_listing_day()
    if latest is None:
        return []
    window = [latest - dt.timedelta(days=offset) for offset in range(days)]
    return ranked_papers(days=window, topic_ids=[topic.pk] if topic else None, limit=limit)


@dataclass
class EditionUse:
    """One edition that carried a paper: its day, subject, address and recipients."""

    edition: Edition
    sent: int


@dataclass
class PaperDetail:
    paper: Paper
    matches: list[PaperTopic]  # with their topic, best first
    editions: list[EditionUse]


def paper_detail(paper_id: str) -> PaperDetail | None:
    """A visible paper with its topic matches and the editions that included it (three queries)."""
    if len(paper_id) > PAPER_ID_MAX_LENGTH or not paper_id.isprintable():
        return None  # cannot exist; PostgreSQL would also refuse a NUL byte in the query
    paper = _visible().filter(paper_id=paper_id).first()
    if paper is None:
        return None
    matches = list(
        paper.topic_matches.filter(excluded=False, topic__is_active=True)
        .select_related("topic")
        .order_by("-score", "topic__position")
    )
    sent = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT))
    editions = paper.editions.annotate(sent=sent).order_by("-digest_date", "-id")[:30]
    return PaperDetail(
        paper=paper,
        matches=matches,
        editions=[EditionUse(edition=edition, sent=edition.sent) for edition in editions],
    )


@dataclass
class PaperCard:
    """What a page shows for one ranked paper: the paper, its summary and topic chips."""

    ranked: RankedPaper
    summary: str
    chips: list[tuple[str, str]]  # (name, slug or "" when the topic is not listed)

    @property
    def paper(self) -> Paper:
        return self.ranked.paper

    @property
    def authors(self) -> str:
        return authors_line(self.ranked.paper.authors or [])


def paper_cards(ranked: list[RankedPaper], topics: list[Topic]) -> list[PaperCard]:
    """Cards for a page of ranked papers (no query: chips come from `topics`)."""
    slugs = {topic.name: topic.slug for topic in topics}
    return [
        PaperCard(
            ranked=item,
            summary=paper_summary(item.paper),
            chips=[(name, slugs.get(name, "")) for name in item.topic_names],
        )
        for item in ranked
    ]
