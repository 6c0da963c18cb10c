"""Ingest one arXiv announcement from the arXiv API: its new submissions in some categories.

Entries are mapped one by one (a malformed entry is reported with its id and skipped); each
page is stored in one transaction, all or nothing. A paper is keyed by its bare arXiv id
(`2611.01001`, the version kept beside it): a paper Hugging Face already listed gets arXiv's
fields, a new version updates the row, nothing is duplicated. New papers are listed on the
announcement's UTC date (see arxiv_calendar) and matched to topics.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.catalog.arxiv_calendar import Announcement, announcement_listed_on, latest_announcement
from digest.catalog.arxiv_client import ArxivClient, ArxivError
from digest.catalog.ingest import parse_when
from digest.catalog.matching import CATEGORY_RE, rematch_papers
from digest.catalog.upsert import MATCHED_FIELDS, merge, store_page
from digest.models import Paper

logger = logging.getLogger(__name__)

_ENTRY_ID = re.compile(
    r"^https?://arxiv\.org/abs/(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(?:v(?P<version>\d+))?$", re.I
)
_TITLE_MAX, _URL_MAX, _REF_MAX, _DOI_MAX = 600, 500, 500, 200


class EntryError(ValueError):
    """One feed entry that cannot be stored."""


@dataclass
class ArxivReport:
    listed_on: dt.date | None
    categories: list[str]
    fetched: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    fetch_failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "listed_on": self.listed_on.isoformat() if self.listed_on else None}


@dataclass
class ArxivPaper:
    paper_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    published_at: dt.datetime | None
    categories: list[str]
    primary_category: str
    arxiv_comment: str
    journal_ref: str
    doi: str
    abs_link: str
    pdf_link: str

    def values(self) -> dict[str, object]:
        """Paper fields from arXiv (bare id and version apart)."""
        found = asdict(self)
        found.pop("paper_id")
        found["arxiv_version"] = found.pop("version")
        return found


def unwrap(value: Any) -> str:
    """arXiv hard-wraps titles and abstracts: one line, single spaces."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _link(entry: Any, *, title: str | None = None, rel: str | None = None) -> str:
    for link in entry.get("links") or []:
        if not isinstance(link, dict):
            continue
        if (title is None or link.get("title") == title) and (rel is None or link.get("rel") == rel):
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("https://", "http://")) and len(href) <= _URL_MAX:
                return href.replace("http://", "https://", 1)
    return ""


def _categories(entry: Any) -> tuple[str, list[str]]:
    primary_tag = entry.get("arxiv_primary_category")
    primary = primary_tag.get("term", "") if isinstance(primary_tag, dict) else ""
    terms = [t.get("term") for t in entry.get("tags") or [] if isinstance(t, dict)]
    found = [t.strip() for t in [primary, *terms] if isinstance(t, str) and CATEGORY_RE.match(t.strip())]
    ordered = list(dict.fromkeys(found))  # primary first, then the cross-lists, no repeats
    return (primary.strip() if primary in ordered else (ordered[0] if ordered else "")), ordered


def parse_entry(entry: Any) -> ArxivPaper:
    """Map one feedparser entry to ArxivPaper; EntryError names what is wrong."""
    raw_id = entry.get("id") if isinstance(entry, dict) else None
    match = _ENTRY_ID.match(raw_id.strip()) if isinstance(raw_id, str) else None
    if match is None:
        raise EntryError(f"id {raw_id!r} is not an arXiv abstract URL")
    title = unwrap(entry.get("title"))
    if not title:
        raise EntryError(f"{match['id']}: no title")
    primary, categories = _categories(entry)
    published = parse_when(entry.get("published"))
    authors = [unwrap(a.get("name")) for a in entry.get("authors") or [] if isinstance(a, dict)]
    return ArxivPaper(
        paper_id=match["id"],
        version=int(match["version"] or 1),
        title=title[:_TITLE_MAX],
        abstract=unwrap(entry.get("summary")),
        authors=[a for a in authors if a],
        published_at=published,
        categories=categories,
        primary_category=primary,
        arxiv_comment=unwrap(entry.get("arxiv_comment")),
        journal_ref=unwrap(entry.get("arxiv_journal_ref"))[:_REF_MAX],
        doi=unwrap(entry.get("arxiv_doi"))[:_DOI_MAX],
        abs_link=_link(entry, rel="alternate"),
        pdf_link=_link(entry, title="pdf"),
    )


def search_query(announcement: Announcement, categories: Sequence[str]) -> str:
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND {announcement.search_window()}"


def ingest_announcement(
    *,
    day: dt.date | None = None,
    categories: Sequence[str] | None = None,
    client: ArxivClient | None = None,
    on_page: Callable[[int], object] | None = None,
) -> ArxivReport:
    """Fetch and upsert the announcement listed on `day` (default: the latest one made);
    safe to re-run. Never raises for API trouble: the report says what went wrong."""
    wanted = list(categories or settings.ARXIV_CATEGORIES)
    announcement = announcement_listed_on(day) if day else latest_announcement(timezone.now())
    report = ArxivReport(listed_on=announcement.listed_on if announcement else day, categories=wanted)
    if announcement is None:
        logger.info("arXiv makes no announcement listed on %s (weekends): nothing to fetch", day)
        return report
    client = client or ArxivClient()
    try:
        for page in client.pages(search_query(announcement, wanted)):
            report.fetched += len(page.entries)
            _ingest_page(page.start, page.entries, announcement.listed_on, report)
            if on_page:
                on_page(len(page.entries))
    except ArxivError as exc:
        report.fetch_failed = True
        report.errors.append(str(exc))
        logger.warning("arXiv ingest %s: %s", announcement.listed_on, exc)
    return report


def _ingest_page(start: int, entries: list[Any], day: dt.date, report: ArxivReport) -> None:
    parsed: dict[str, ArxivPaper] = {}
    for position, entry in enumerate(entries, start=start):
        try:
            paper = parse_entry(entry)
        except EntryError as exc:
            report.skipped += 1
            report.errors.append(f"entry {position}: {exc}; skipped")
            continue
        known = parsed.get(paper.paper_id)
        if known is None or paper.version >= known.version:
            parsed[paper.paper_id] = paper
    papers = list(parsed.values())
    where = f"arXiv {day} entries {start}-{start + len(entries) - 1}"
    store_page(lambda: _store_page(papers, day), papers=len(papers), where=where, report=report)


@transaction.atomic
def _store_page(papers: list[ArxivPaper], day: dt.date) -> tuple[int, int]:
    existing = {
        p.paper_id: p
        for p in Paper.objects.select_for_update().filter(paper_id__in=[a.paper_id for a in papers])
    }
    to_match: list[Paper] = []
    created = updated = 0
    for data in papers:
        paper = existing.get(data.paper_id)
        if paper is None:
            paper = Paper.objects.create(
                paper_id=data.paper_id,
                listed_on=day,
                source=Paper.Source.ARXIV,
                on_arxiv=True,
                **data.values(),
            )
            created += 1
            to_match.append(paper)
            continue
        if data.version < paper.arxiv_version:
            continue  # an older version than the one stored: nothing new
        changed = merge(paper, data.values(), source=Paper.Source.ARXIV)
        if changed or not paper.on_arxiv:
            paper.on_arxiv = True
            paper.save()
            updated += 1
        if changed & MATCHED_FIELDS:
            to_match.append(paper)
    if to_match:
        rematch_papers(papers=to_match)
    return created, updated
