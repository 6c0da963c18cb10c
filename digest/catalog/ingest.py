"""Ingest listing days from the Hugging Face daily-papers API.

Each page is written in one transaction: a malformed item is reported and
skipped, the rest of its page stored; a failure while writing rolls the whole
page back. Known papers get fresh counts and a new snapshot (so trending sees
growth), AI fields that arrived since, and nothing blanked or set by an editor
(see upsert.merge); new ones are matched to topics. The listing day is the
requested day (HF's own listing day; `submittedOnDailyAt` can fall on the
evening before in UTC), never the arXiv `publishedAt`, and a paper keeps the
day it was first listed on. `ingest_recent` refreshes today and the last
HF_REFRESH_DAYS days: HF adds papers to a day after it opens, and fills AI
summaries later.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from digest.catalog.hf_client import HFClient, HFDayNotOpen, HFError
from digest.catalog.matching import rematch_papers
from digest.catalog.upsert import MATCHED_FIELDS, merge, store_page
from digest.models import Paper, PaperSnapshot

logger = logging.getLogger(__name__)

_ARXIV_ID = re.compile(r"^(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(v\d+)?$", re.IGNORECASE)
_URL_MAX = 500
_COUNT_MAX = 2**31 - 1  # the columns are 32-bit; anything bigger is a broken record
_GITHUB_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


class ItemError(ValueError):
    """One API item that cannot be stored."""


@dataclass
class IngestReport:
    day: dt.date
    fetched: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    fetch_failed: bool = False
    not_open: bool = False  # HF has not opened the day yet: an empty day, not a failure

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}


@dataclass
class PaperData:
    """An API item mapped to Paper fields."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str]
    published_at: dt.datetime | None
    upvotes: int
    comments: int
    github_repo: str
    github_stars: int
    project_page: str
    ai_summary: str
    ai_keywords: list[str]
    thumbnail: str
    organization: str
    withdrawn_at: dt.datetime | None

    def values(self) -> dict[str, object]:
        """Paper fields from Hugging Face (the id apart); withdrawn only when HF says so."""
        found = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "paper_id"}
        found["withdrawn"] = self.withdrawn_at is not None
        return found


def _text(value: Any, name: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ItemError(f"{name} is a {type(value).__name__}, expected text")
    text = " ".join(value.split())
    if required and not text:
        raise ItemError(f"{name} is missing")
    return text


def _count(value: Any, name: str) -> int:
    """A count; HF sometimes sends a whole number as a float (`5.0`)."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _COUNT_MAX:
        raise ItemError(f"{name} must be a whole number from 0 to {_COUNT_MAX}, got {value!r}")
    return value


def _github(value: Any) -> str:
    """A repository URL; HF gives some as `owner/name`."""
    if isinstance(value, str) and _GITHUB_SLUG.match(value.strip()):
        return f"https://github.com/{value.strip()}"
    return _url(value)


def _organization(*candidates: Any) -> str:
    """The organization's display name (HF puts it on the item or on the paper)."""
    for org in candidates:
        if isinstance(org, dict):
            name = org.get("fullname") or org.get("name")
            if isinstance(name, str) and name.strip():
                return " ".join(name.split())[:200]
        elif isinstance(org, str) and org.strip():
            return " ".join(org.split())[:200]
    return ""


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > _URL_MAX:
        return ""
    return value.strip()


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ItemError(f"{name} must be a list")
    return [" ".join(v.split()) for v in value if isinstance(v, str) and v.strip()]


def _authors(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ItemError("authors must be a list")
    shown = (a for a in value if not (isinstance(a, dict) and a.get("hidden") is True))
    names = (a.get("name") if isinstance(a, dict) else a for a in shown)
    return [" ".join(n.split()) for n in names if isinstance(n, str) and n.strip()]


def parse_when(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp from an API (naive ones are UTC); None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def parse_item(item: Any) -> PaperData:
    """Map one raw API item (paper fields nested under `paper`) to PaperData; ItemError if unusable."""
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise ItemError("no `paper` object")
    paper = item["paper"]
    raw_id = paper.get("id")
    match = _ARXIV_ID.match(raw_id.strip()) if isinstance(raw_id, str) else None
    if match is None:
        raise ItemError(f"paper.id {raw_id!r} is not an arXiv id")
    return PaperData(
        paper_id=match["id"],
        title=_text(paper.get("title") or item.get("title"), "title", required=True)[:600],
        abstract=_text(paper.get("summary") or item.get("summary"), "summary"),
        authors=_authors(paper.get("authors")),
        published_at=parse_when(paper.get("publishedAt") or item.get("publishedAt")),
        upvotes=_count(paper.get("upvotes"), "upvotes"),
        comments=_count(item.get("numComments"), "numComments"),
        github_repo=_github(paper.get("githubRepo") or item.get("githubRepo")),
        github_stars=_count(paper.get("githubStars"), "githubStars"),
        project_page=_url(paper.get("projectPage")),
        ai_summary=_text(paper.get("ai_summary"), "ai_summary"),
        ai_keywords=_strings(paper.get("ai_keywords"), "ai_keywords"),
        thumbnail=_url(item.get("thumbnail")),
        organization=_organization(item.get("organization"), paper.get("organization")),
        withdrawn_at=parse_when(paper.get("withdrawnAt") or item.get("withdrawnAt")),
    )


def ingest_day(
    *,
    day: dt.date | None = None,
    client: HFClient | None = None,
    on_page: Callable[[int], object] | None = None,
) -> IngestReport:
    """Fetch and upsert one listing day (default: today, UTC); safe to re-run.

    Never raises for API trouble: fetch errors end the run with `fetch_failed` and an error
    line, pages stored before stay stored. `on_page(n)` is told the size of each page handled.
    """
    day = day or timezone.now().date()
    client = client or HFClient()
    report = IngestReport(day=day)
    try:
        for number, items in enumerate(client.pages(day)):
            report.fetched += len(items)
            _ingest_page(number, items, day, report)
            if on_page:
                on_page(len(items))
    except HFDayNotOpen as exc:
        report.not_open = True
        logger.info("ingest %s: %s; nothing to fetch yet", day, exc)
    except HFError as exc:
        report.fetch_failed = True
        report.errors.append(str(exc))
        logger.warning("ingest %s: %s", day, exc)
    return report


def _ingest_page(number: int, items: list[Any], day: dt.date, report: IngestReport) -> None:
    parsed: dict[str, PaperData] = {}
    for position, item in enumerate(items):
        try:
            data = parse_item(item)
        except ItemError as exc:
            report.skipped += 1
            report.errors.append(f"page {number} item {position}{_id_of(item)}: {exc}; skipped")
            continue
        parsed[data.paper_id] = data  # the same paper twice on a page: the later counts win
    papers = list(parsed.values())
    store_page(lambda: _store_page(papers, day), papers=len(papers), where=f"page {number}", report=report)


def _id_of(item: Any) -> str:
    """ " (2506.01234)" when a bad item still names its paper, so the operator can look it up."""
    paper = item.get("paper") if isinstance(item, dict) else None
    raw = paper.get("id") if isinstance(paper, dict) else None
    return f" ({raw.strip()[:40]})" if isinstance(raw, str) and raw.strip() else ""


def ingest_recent(
    *, days: int | None = None, client: HFClient | None = None, on_page: Callable[[int], object] | None = None
) -> list[IngestReport]:
    """Ingest today (UTC) and the `days` days before it (default HF_REFRESH_DAYS), oldest first."""
    today = timezone.now().date()
    back = settings.HF_REFRESH_DAYS if days is None else days
    client = client or HFClient()
    return [
        ingest_day(day=today - dt.timedelta(days=n), client=client, on_page=on_page)
        for n in range(back, -1, -1)
    ]


@transaction.atomic
def _store_page(papers: list[PaperData], day: dt.date) -> tuple[int, int]:
    """Upsert one page's papers with a snapshot each and match the new or re-worded ones."""
    now = timezone.now()
    ids = [d.paper_id for d in papers]
    existing = {p.paper_id: p for p in Paper.objects.select_for_update().filter(paper_id__in=ids)}
    to_match: list[Paper] = []
    snapshots: list[PaperSnapshot] = []
    created = 0
    for data in papers:
        values = data.values()
        paper = existing.get(data.paper_id)
        if paper is None:
            paper = Paper.objects.create(
                paper_id=data.paper_id, listed_on=day, source=Paper.Source.HF, on_hf=True, **values
            )
            created += 1
            to_match.append(paper)
        else:
            changed = merge(paper, values, source=Paper.Source.HF)
            paper.on_hf = True
            paper.save()
            if changed & MATCHED_FIELDS:
                to_match.append(paper)
        snapshots.append(
            PaperSnapshot(
                paper=paper,
                taken_at=now,
                upvotes=paper.upvotes,
                comments=paper.comments,
                github_stars=paper.github_stars,
            )
        )
    PaperSnapshot.objects.bulk_create(snapshots)
    if to_match:
        rematch_papers(papers=to_match)
    return created, len(papers) - created
