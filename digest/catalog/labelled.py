"""Labelled papers: the evaluation set's file format (seeds/eval/papers.jsonl).

One JSON object a line: `id`, `title`, `abstract`, optional `categories`, `ai_summary` and
`ai_keywords`, `topics` (the slugs the paper belongs to, possibly none) and `split`: `tune`
(the matcher may learn from it and be tuned on it) or `heldout` (measured on only), fixed by a
hash of the id, or `train` (papers labelled later to learn from, chosen by the model's
uncertainty: learned from, never measured by default). A file without `split` fields is all one
part, `all`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SPLITS = ("tune", "heldout", "train")
LEARNED_SPLITS = ("tune", "train")  # the parts the matcher learns from
DEFAULT_SET = Path(settings.BASE_DIR) / "seeds" / "eval" / "papers.jsonl"


def labelled_set() -> Path:
    """The labelled set in use (MATCHING_LABELLED_SET; default seeds/eval/papers.jsonl)."""
    return Path(settings.MATCHING_LABELLED_SET)


class EvalSetError(ValueError):
    """The evaluation file cannot be read."""


@dataclass(frozen=True)
class LabelledPaper:
    id: str
    title: str
    abstract: str
    categories: tuple[str, ...]
    topics: frozenset[str]
    split: str
    ai_summary: str = ""
    ai_keywords: tuple[str, ...] = ()


def load_set(path: Path, *, split: str | None = None) -> list[LabelledPaper]:
    """The labelled papers of `path`, of one split (`tune`, `heldout`, `train`, `all`) or all."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalSetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    papers = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            topics = row.get("topics") or []
            if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
                raise TypeError("topics must be a list of slugs")
            paper = LabelledPaper(
                id=str(row["id"]),
                title=str(row["title"]),
                abstract=str(row.get("abstract") or ""),
                categories=tuple(str(c) for c in row.get("categories") or ()),
                topics=frozenset(topics),
                split=str(row.get("split") or "all"),
                ai_summary=str(row.get("ai_summary") or ""),
                ai_keywords=tuple(str(k) for k in row.get("ai_keywords") or ()),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvalSetError(f"{path}:{number}: not a labelled paper ({exc})") from exc
        if split is None or split == "all" or paper.split == split:
            papers.append(paper)
    return papers
