"""How well topic matching does on labelled real papers: precision, recall and F1 per topic,
micro and macro, with the worst false positives and misses and the reason that fired.

The set (seeds/eval/papers.jsonl, rules in seeds/eval/LABELLING.md) holds real arXiv papers
labelled by hand; `split` marks the part one may tune on (`tune`) and the part only measured on
(`heldout`). Matching reads no database here: the rules are compiled from Topic objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.catalog.matching import compile_rules, match_compiled
from subscriptions.models import Topic

SPLITS = ("tune", "heldout")


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


@dataclass
class TopicScore:
    slug: str
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Mistake:
    kind: str  # "false positive" or "miss"
    slug: str
    paper: LabelledPaper
    score: float
    reason: str


@dataclass
class Evaluation:
    papers: int
    topics: list[TopicScore]
    mistakes: list[Mistake] = field(default_factory=list)

    @property
    def micro(self) -> TopicScore:
        total = TopicScore("micro")
        for t in self.topics:
            total.tp, total.fp, total.fn = total.tp + t.tp, total.fp + t.fp, total.fn + t.fn
        return total

    def macro(self) -> tuple[float, float, float]:
        n = len(self.topics) or 1
        return (
            sum(t.precision for t in self.topics) / n,
            sum(t.recall for t in self.topics) / n,
            sum(t.f1 for t in self.topics) / n,
        )


def load_set(path: Path, *, split: str | None = None) -> list[LabelledPaper]:
    """The labelled papers of `path` (one JSON object a line), of one split or all."""
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
            paper = LabelledPaper(
                id=str(row["id"]),
                title=str(row["title"]),
                abstract=str(row.get("abstract", "")),
                categories=tuple(row.get("categories") or ()),
                topics=frozenset(row.get("topics") or ()),
                split=str(row.get("split", "tune")),
                ai_summary=str(row.get("ai_summary") or ""),
                ai_keywords=tuple(row.get("ai_keywords") or ()),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalSetError(f"{path}:{number}: not a labelled paper ({exc})") from exc
        if split is None or paper.split == split:
            papers.append(paper)
    return papers


def evaluate(papers: Sequence[LabelledPaper], topics: Iterable[Topic]) -> Evaluation:
    """Match every paper against every topic and score the matches against the labels."""
    chosen = list(topics)
    compiled = [(t.slug, compile_rules(t)) for t in chosen]
    scores = {slug: TopicScore(slug) for slug, _ in compiled}
    mistakes: list[Mistake] = []
    for paper in papers:
        for slug, rules in compiled:
            match = match_compiled(paper, rules)
            wanted = slug in paper.topics
            if match is not None and wanted:
                scores[slug].tp += 1
            elif match is not None:
                scores[slug].fp += 1
                mistakes.append(Mistake("false positive", slug, paper, match.score, match.reason))
            elif wanted:
                scores[slug].fn += 1
                mistakes.append(Mistake("miss", slug, paper, 0.0, "no rule fired above the threshold"))
    mistakes.sort(key=lambda m: (m.kind != "false positive", -m.score, m.slug, m.paper.id))
    return Evaluation(papers=len(papers), topics=list(scores.values()), mistakes=mistakes)
