"""One paper, two sources: how a source's values are merged into a stored Paper.

Each source fills its own fields and never blanks another's: an empty value leaves what is
stored. Fields an editor changed by hand (`Paper.locked_fields`) are never overwritten. Title,
abstract and authors belong to arXiv once it has listed the paper (a newer version updates
them); before that Hugging Face's copy stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from django.db import DatabaseError

from digest.catalog.freshness import catalog_changed
from digest.models import Paper

logger = logging.getLogger(__name__)

# Fields whose text decides topic matches: a change re-matches the paper.
MATCHED_FIELDS = frozenset({"title", "abstract", "ai_summary", "ai_keywords", "categories"})
# The bibliographic fields arXiv owns once it has seen the paper.
ARXIV_TEXT = frozenset({"title", "abstract", "authors"})
# Counts are always taken as given: zero is a value, not a blank.
COUNTS = frozenset({"upvotes", "comments", "github_stars"})


def _blank(value: object) -> bool:
    return value is None or value == "" or value == [] or value is False


class PageReport(Protocol):
    created: int
    updated: int
    skipped: int
    errors: list[str]


def store_page(store: Callable[[], tuple[int, int]], *, papers: int, where: str, report: PageReport) -> None:
    """Run one page's all-or-nothing `store()` (→ created, updated) and count it in `report`;
    a database failure rolls the page back and is reported as `where`, never raised."""
    try:
        created, updated = store()
    except DatabaseError as exc:
        report.skipped += papers
        report.errors.append(f"{where}: not stored, rolled back ({type(exc).__name__}: {exc})")
        logger.error("%s rolled back: %s", where, exc)
        return
    report.created += created
    report.updated += updated
    if created or updated:
        catalog_changed()


def merge(paper: Paper, values: Mapping[str, object], *, source: str) -> set[str]:
    """Set `values` on `paper` by the rules above (the caller saves); the names changed."""
    changed: set[str] = set()
    locked = set(paper.locked_fields or [])
    for name, value in values.items():
        if name in locked or (_blank(value) and name not in COUNTS):
            continue
        if source == Paper.Source.HF and name in ARXIV_TEXT and paper.on_arxiv:
            continue
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed.add(name)
    return changed
