"""Search the whole catalog (every listing day) by title, abstract and authors.

On PostgreSQL: full-text search (`websearch_to_tsquery`, so "quoted phrases", OR and -word
work) over `search_document`, a stored weighted vector (title over abstract over authors; see
migration 0009) with a GIN index, ranked by ts_rank, newer first on ties. Elsewhere (SQLite):
every word must appear in the title, abstract or authors; title hits rank first.

The search finds ids and ranks only (at most MAX_RESULTS); the papers of the page shown, and
their topic chips, are read when that page is sliced out (`SearchResults`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import overload

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from digest.catalog.ranking import RankedPaper
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

QUERY_MAX = 200
MAX_RESULTS = 500
CONFIG = "english"


def clean_query(text: str) -> str:
    """One line, at most QUERY_MAX characters."""
    return " ".join(str(text).split())[:QUERY_MAX]


def _visible(topic: Topic | None, day: dt.date | None) -> QuerySet[Paper]:
    papers = Paper.objects.filter(hidden=False, withdrawn=False)
    if day is not None:
        papers = papers.filter(listed_on=day)
    if topic is not None:
        papers = papers.filter(
            Exists(PaperTopic.objects.filter(paper=OuterRef("pk"), topic=topic, excluded=False))
        )
    return papers


def _postgres(query: str, papers: QuerySet[Paper]) -> list[tuple[int, float]]:
    wanted = SearchQuery(query, search_type="websearch", config=CONFIG)
    # A column name of our own, no input in it: the generated column has no model field.
    column = f"{Paper._meta.db_table}.search_document"
    document = RawSQL(column, [], output_field=SearchVectorField())  # noqa: S611
    found = (
        papers.annotate(document=document)
        .filter(document=wanted)
        .annotate(rank=SearchRank(document, wanted))
        .order_by("-rank", "-listed_on", "-pk")
        .values_list("pk", "rank")[:MAX_RESULTS]
    )
    return [(pk, float(rank)) for pk, rank in found]


def _portable(query: str, papers: QuerySet[Paper]) -> list[tuple[int, float]]:
    words = [w.strip('"').lower() for w in query.split() if w.strip('"')]
    for word in words:
        papers = papers.filter(
            Q(title__icontains=word) | Q(abstract__icontains=word) | Q(authors__icontains=word)
        )
    rows = papers.order_by("-listed_on", "-pk").values_list("pk", "title", F("listed_on"))
    scored = [
        (pk, float(sum(word in title.lower() for word in words)), listed_on)
        for pk, title, listed_on in rows[: MAX_RESULTS * 4]
    ]
    scored.sort(key=lambda item: (-item[1], -item[2].toordinal(), -item[0]))
    return [(pk, score) for pk, score, _ in scored[:MAX_RESULTS]]


class SearchResults(Sequence[RankedPaper]):
    """Ranked ids of the matches; slicing reads those papers and their chips (two queries)."""

    def __init__(self, found: list[tuple[int, float]], topics: list[Topic]) -> None:
        self._found = found
        self._topics = topics

    def __len__(self) -> int:
        return len(self._found)

    @overload
    def __getitem__(self, index: int) -> RankedPaper: ...
    @overload
    def __getitem__(self, index: slice) -> list[RankedPaper]: ...
    def __getitem__(self, index: int | slice) -> RankedPaper | list[RankedPaper]:
        if isinstance(index, slice):
            return self._load(self._found[index])
        return self._load([self._found[index]])[0]

    def _load(self, chosen: list[tuple[int, float]]) -> list[RankedPaper]:
        if not chosen:
            return []
        papers = Paper.objects.defer("vector").in_bulk([pk for pk, _ in chosen])
        names = {t.pk: t.name for t in self._topics}
        chips: dict[int, list[str]] = {}
        rows = PaperTopic.objects.filter(
            paper__in=list(papers), topic_id__in=list(names), excluded=False
        ).order_by("topic__position", "topic__name")
        for paper_id, topic_id in rows.values_list("paper_id", "topic_id"):
            chips.setdefault(paper_id, []).append(names[topic_id])
        return [
            RankedPaper(paper=papers[pk], score=rank, pinned=False, topic_names=chips.get(pk, []))
            for pk, rank in chosen
            if pk in papers
        ]


def search(
    query: str, *, topic: Topic | None, topics: list[Topic], day: dt.date | None = None
) -> SearchResults:
    """Papers matching `query` (and `topic`, and listed on `day` when given), best first."""
    query = clean_query(query)
    if not query:
        return SearchResults([], topics)
    papers = _visible(topic, day)
    found = _postgres(query, papers) if connection.vendor == "postgresql" else _portable(query, papers)
    return SearchResults(found, topics)
