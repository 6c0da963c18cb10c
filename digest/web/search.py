"""Search the whole catalog (every listing day) by title, abstract and authors.

On PostgreSQL: full-text search (`websearch_to_tsquery`, so "quoted phrases", OR and -word
work) over an expression the `paper_search` GIN index covers, ranked by ts_rank, newer
first on ties (the index finds the matches; a weighted vector, title over abstract over
authors, ranks only those). Elsewhere (SQLite): every word must appear in the title, abstract or
authors; title hits rank first.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast

from digest.catalog.ranking import RankedPaper
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

QUERY_MAX = 200
MAX_RESULTS = 500
CONFIG = "english"


def clean_query(text: str) -> str:
    """One line, at most QUERY_MAX characters."""
    return " ".join(str(text).split())[:QUERY_MAX]


def search_vector() -> SearchVector:
    """The indexed expression (digest.models.Paper's `paper_search` index): keep in step."""
    return SearchVector("title", "abstract", Cast("authors", output_field=TextField()), config=CONFIG)


def weighted_vector() -> CombinedExpression:
    """For ranking the matches only: a title hit counts most, then the abstract, then authors."""
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("abstract", weight="B", config=CONFIG)
        + SearchVector(Cast("authors", output_field=TextField()), weight="C", config=CONFIG)
    )


def _visible(topic: Topic | None) -> QuerySet[Paper]:
    papers = Paper.objects.filter(hidden=False, withdrawn=False)
    if topic is not None:
        papers = papers.filter(
            Exists(PaperTopic.objects.filter(paper=OuterRef("pk"), topic=topic, excluded=False))
        )
    return papers


def _postgres(query: str, papers: QuerySet[Paper]) -> list[tuple[Paper, float]]:
    wanted = SearchQuery(query, search_type="websearch", config=CONFIG)
    found = (
        papers.annotate(document=search_vector())
        .filter(document=wanted)
        .annotate(rank=SearchRank(weighted_vector(), wanted))
        .order_by("-rank", "-listed_on", "-pk")[:MAX_RESULTS]
    )
    return [(paper, float(paper.rank)) for paper in found]


def _portable(query: str, papers: QuerySet[Paper]) -> list[tuple[Paper, float]]:
    words = [w.strip('"').lower() for w in query.split() if w.strip('"')]
    for word in words:
        papers = papers.filter(
            Q(title__icontains=word) | Q(abstract__icontains=word) | Q(authors__icontains=word)
        )
    scored = []
    for paper in papers.order_by("-listed_on", "-pk")[: MAX_RESULTS * 4]:
        title = paper.title.lower()
        scored.append((paper, float(sum(word in title for word in words))))
    scored.sort(key=lambda item: (-item[1], -item[0].listed_on.toordinal(), -item[0].pk))
    return scored[:MAX_RESULTS]


def search(query: str, *, topic: Topic | None, topics: list[Topic]) -> list[RankedPaper]:
    """Papers matching `query` (and `topic`), best first, with their topic chips."""
    query = clean_query(query)
    if not query:
        return []
    papers = _visible(topic)
    found = _postgres(query, papers) if connection.vendor == "postgresql" else _portable(query, papers)
    names = {t.pk: t.name for t in topics}
    chips: dict[int, list[str]] = {}
    rows = PaperTopic.objects.filter(
        paper__in=[paper.pk for paper, _ in found], topic_id__in=list(names), excluded=False
    ).order_by("topic__position", "topic__name")
    for paper_id, topic_id in rows.values_list("paper_id", "topic_id"):
        chips.setdefault(paper_id, []).append(names[topic_id])
    return [
        RankedPaper(paper=paper, score=rank, pinned=False, topic_names=chips.get(paper.pk, []))
        for paper, rank in found
    ]
