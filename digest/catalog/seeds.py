"""Seed data: topics from seeds/topics.json and papers from saved daily-papers pages.

The pages carry titles and abstracts only (no ids, dates or counts): seed papers get
a stable id from their normalized title and keep zero engagement, so trending falls back
to relevance and recency. The pages are consecutive listing days: the last page (by file
name) is listed on the day they are loaded, each earlier page one day before the next; a
paper on several pages is listed on the latest of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.catalog.freshness import catalog_changed
from digest.catalog.learning import ensure_trained
from digest.catalog.matching import rematch_papers
from digest.catalog.rules import RULE_KEYS, validate_rules
from digest.models import Paper
from subscriptions.models import Topic

SEEDS_DIR = Path(settings.BASE_DIR) / "seeds"
TITLE_MAX = 300
_HEADER_LINES = {
    "new",
    "subscribe",
    "daily papers",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
}
_DATE_LINE = re.compile(r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(, \d{4})?$")
_TOPIC_FIELDS = ("name", "description", "position", *RULE_KEYS)


class SeedError(ValueError):
    """A seed file that cannot be loaded; nothing was written."""


@dataclass(frozen=True)
class SeedPaper:
    title: str
    abstract: str

    @property
    def paper_id(self) -> str:
        return seed_paper_id(self.title)


@dataclass
class SeedReport:
    day: dt.date
    pages: dict[str, int] = field(default_factory=dict)
    papers: int = 0  # distinct papers across all pages
    topics_created: int = 0
    topics_updated: int = 0
    papers_created: int = 0
    papers_updated: int = 0
    papers_relisted: int = 0
    papers_unchanged: int = 0
    matches_changed: int = 0
    model_trained: bool = False

    @property
    def changed(self) -> bool:
        counts = (self.topics_created, self.topics_updated, self.papers_created, self.papers_updated)
        return any((*counts, self.papers_relisted, self.matches_changed))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}


def normalize_title(title: str) -> str:
    """Lower-case, accent- and punctuation-free, single-spaced: equal for the same paper."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def seed_paper_id(title: str) -> str:
    digest = hashlib.sha256(normalize_title(title).encode()).hexdigest()
    return f"seed-{digest[:12]}"


def _is_header(line: str) -> bool:
    lowered = line.lower()
    return lowered in _HEADER_LINES or bool(_DATE_LINE.match(lowered))


def parse_page(text: str, *, name: str = "page") -> list[SeedPaper]:
    """Title/abstract pairs of one saved page, header lines dropped; SeedError on a broken layout."""
    lines = [(n, " ".join(raw.split())) for n, raw in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line]
    start = 0
    while start < len(lines) and _is_header(lines[start][1]):
        start += 1
    body = lines[start:]
    if body and body[0][1].startswith("Subscribe") and len(body[0][1]) > len("Subscribe"):
        body[0] = (body[0][0], body[0][1][len("Subscribe") :].strip())
    if len(body) % 2:
        raise SeedError(f"{name}: line {body[-1][0]}: a title without its abstract")
    papers = []
    for (n, title), (_, abstract) in zip(body[::2], body[1::2], strict=True):
        if len(title) > TITLE_MAX:
            raise SeedError(f"{name}: line {n}: expected a title, found a {len(title)}-character paragraph")
        if len(abstract) <= len(title):
            raise SeedError(f"{name}: line {n + 1}: expected the abstract of {title!r}")
        papers.append(SeedPaper(title=title, abstract=abstract))
    return papers


def read_pages(pages_dir: Path) -> dict[str, list[SeedPaper]]:
    """Every page file (sorted by name) parsed; SeedError when there is none."""
    files = sorted(p for p in pages_dir.glob("*.txt") if p.is_file())
    if not files:
        raise SeedError(f"no page files (*.txt) in {pages_dir}")
    return {f.name: parse_page(f.read_text(encoding="utf-8"), name=f.name) for f in files}


def unique_papers(pages: dict[str, list[SeedPaper]]) -> list[SeedPaper]:
    """One paper per normalized title across all pages, first seen wins."""
    seen: dict[str, SeedPaper] = {}
    for papers in pages.values():
        for paper in papers:
            seen.setdefault(paper.paper_id, paper)
    return list(seen.values())


def listing_days(pages: dict[str, list[SeedPaper]], day: dt.date) -> dict[str, dt.date]:
    """Each seed paper's listing day: the last page on `day`, each earlier one a day before;
    a paper on several pages takes the latest."""
    days: dict[str, dt.date] = {}
    for back, papers in enumerate(reversed(list(pages.values()))):
        for paper in papers:
            days.setdefault(paper.paper_id, day - dt.timedelta(days=back))
    return days


def read_topics(path: Path) -> list[dict[str, Any]]:
    """Topic dicts from topics.json, each with a slug, a name and valid rules; SeedError otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SeedError(f"{path.name}: {exc}") from exc
    if not isinstance(data, list):
        raise SeedError(f"{path.name}: expected a list of topics")
    topics, slugs = [], set()
    for n, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("slug") or not item.get("name"):
            raise SeedError(f"{path.name}: topic #{n + 1} needs a slug and a name")
        if item["slug"] in slugs:
            raise SeedError(f"{path.name}: duplicate slug {item['slug']!r}")
        slugs.add(item["slug"])
        try:
            rules = validate_rules({k: item.get(k, []) for k in RULE_KEYS})
        except ValueError as exc:
            raise SeedError(f"{path.name}: topic {item['slug']!r}: {exc}") from exc
        topics.append(
            {
                "slug": item["slug"],
                "name": item["name"],
                "description": item.get("description", ""),
                "position": item.get("position", n),
                **rules,
            }
        )
    return topics


def _upsert_topics(topics: list[dict[str, Any]], report: SeedReport) -> list[Topic]:
    changed = []
    existing = {t.slug: t for t in Topic.objects.filter(slug__in=[t["slug"] for t in topics])}
    for data in topics:
        topic = existing.get(data["slug"])
        if topic is None:
            if Topic.objects.filter(name=data["name"]).exists():
                raise SeedError(f"topic name {data['name']!r} is already used by another slug")
            changed.append(Topic.objects.create(**data))
            report.topics_created += 1
        elif any(getattr(topic, f) != data[f] for f in _TOPIC_FIELDS):
            for f in _TOPIC_FIELDS:
                setattr(topic, f, data[f])
            topic.save()
            changed.append(topic)
            report.topics_updated += 1
    return changed


def _upsert_papers(
    papers: list[SeedPaper],
    iterate: Callable[[list[SeedPaper]], Iterable[SeedPaper]],
    days: dict[str, dt.date],
    report: SeedReport,
) -> None:
    existing = {p.paper_id: p for p in Paper.objects.filter(paper_id__in=[s.paper_id for s in papers])}
    new = []
    for seed in iterate(papers):
        day = days[seed.paper_id]
        paper = existing.get(seed.paper_id)
        if paper is None:
            new.append(
                Paper(
                    paper_id=seed.paper_id,
                    title=seed.title,
                    abstract=seed.abstract,
                    listed_on=day,
                    source=Paper.Source.SEED,
                )
            )
            continue
        fields = []
        if (paper.title, paper.abstract) != (seed.title, seed.abstract):
            paper.title, paper.abstract = seed.title, seed.abstract
            fields += ["title", "abstract"]
            report.papers_updated += 1
        if paper.listed_on < day:
            paper.listed_on = day
            fields.append("listed_on")
            report.papers_relisted += 1
        if fields:
            paper.save(update_fields=[*fields, "updated_at"])
        else:
            report.papers_unchanged += 1
    Paper.objects.bulk_create(new)
    catalog_changed()
    report.papers_created = len(new)


def load_seeds(
    *,
    day: dt.date | None = None,
    seeds_dir: Path | None = None,
    progress: Callable[[list[SeedPaper]], Iterable[SeedPaper]] | None = None,
) -> SeedReport:
    """Upsert topics (by slug) and seed papers (by title), list the last page on `day` (default
    today, UTC) and each earlier page a day before (`listing_days`), and match topics. One
    transaction; idempotent: a second run the same day changes nothing. Raises SeedError,
    having written nothing, when a seed file is broken."""
    seeds_dir = seeds_dir or SEEDS_DIR
    day = day or timezone.now().date()
    pages = read_pages(seeds_dir / "pages")
    topics = read_topics(seeds_dir / "topics.json")
    papers = unique_papers(pages)
    report = SeedReport(
        day=day, pages={name: len(items) for name, items in pages.items()}, papers=len(papers)
    )
    with transaction.atomic():
        changed_topics = _upsert_topics(topics, report)
        _upsert_papers(papers, progress or iter, listing_days(pages, day), report)
        report.model_trained = ensure_trained().trained
        seed_ids = [p.paper_id for p in papers]
        report.matches_changed = rematch_papers(papers=Paper.objects.filter(paper_id__in=seed_ids))
        if report.model_trained:
            others = Paper.objects.exclude(paper_id__in=seed_ids)
            report.matches_changed += rematch_papers(papers=others)
        elif changed_topics:
            others = Paper.objects.exclude(paper_id__in=seed_ids)
            report.matches_changed += rematch_papers(papers=others, topics=changed_topics)
    return report
