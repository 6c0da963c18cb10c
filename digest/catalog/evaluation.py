"""How well topic matching does on labelled real papers: precision, recall and F1 per topic,
micro and macro, with the worst false positives and misses and the reason that fired.

The set (seeds/eval/papers.jsonl, rules in seeds/eval/LABELLING.md) holds real arXiv papers
labelled by hand; `split` marks the part the matcher may learn from and be tuned on (`tune`),
the part only measured on (`heldout`) and papers added later to learn from only (`train`).
No paper is ever scored by a model that learned its label: the model is trained here, without
the papers being measured (`models_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from digest.catalog.labelled import SPLITS, EvalSetError, LabelledPaper, labelled_set, load_set
from digest.catalog.matcher import Decision, LearnedModel, Matcher
from digest.catalog.training import Example, train
from subscriptions.models import Topic

__all__ = ["SPLITS", "EvalSetError", "Evaluation", "LabelledPaper", "evaluate", "load_set", "models_for"]

FOLDS = 5


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

    def topic(self, slug: str) -> TopicScore | None:
        return next((t for t in self.topics if t.slug == slug), None)


# A model for each paper to be scored: models_for gives (papers, model) groups.
ModelPlan = list[tuple[list[LabelledPaper], LearnedModel | None]]


def models_for(
    papers: Sequence[LabelledPaper],
    examples: Sequence[Example],
    topics: Sequence[Topic],
    *,
    progress: Callable[[str], None] | None = None,
) -> ModelPlan:
    """Models that never saw the labels of the papers they score: one model trained on every
    example when none is being measured, else one per fold of the measured papers that are also
    examples (cross-fitting), each trained without that fold."""
    measured = {p.id for p in papers}
    overlap = sorted(e.key for e in examples if e.key in measured)
    shared = set(overlap)
    if not examples:
        return [(list(papers), None)]
    if not overlap:
        if progress:
            progress(f"training on {len(examples)} labelled papers")
        return [(list(papers), train(examples, topics))]
    folds = [set(overlap[n::FOLDS]) for n in range(FOLDS)]
    plan: ModelPlan = []
    for n, fold in enumerate(folds):
        if progress:
            progress(f"training fold {n + 1}/{FOLDS} without {len(fold)} measured papers")
        model = train([e for e in examples if e.key not in fold], topics)
        scored = [p for p in papers if p.id in fold or (n == 0 and p.id not in shared)]
        plan.append((scored, model))
    return plan


def evaluate(
    papers: Sequence[LabelledPaper], topics: Iterable[Topic], plan: ModelPlan | None = None
) -> Evaluation:
    """Match every paper against every topic and score the matches against the labels."""
    chosen = list(topics)
    groups = plan if plan is not None else [(list(papers), None)]
    scores = {t.slug: TopicScore(t.slug) for t in chosen}
    mistakes: list[Mistake] = []
    for group, model in groups:
        matcher = Matcher(chosen, model)
        for paper, decisions in zip(group, matcher.decisions(group), strict=True):
            for decision in decisions:
                _score(paper, decision, scores[decision.slug], mistakes)
    mistakes.sort(key=lambda m: (m.kind != "false positive", -m.score, m.slug, m.paper.id))
    return Evaluation(papers=len(papers), topics=list(scores.values()), mistakes=mistakes)


def _score(paper: LabelledPaper, decision: Decision, score: TopicScore, mistakes: list[Mistake]) -> None:
    wanted = decision.slug in paper.topics
    if decision.matched and wanted:
        score.tp += 1
    elif decision.matched:
        score.fp += 1
        mistakes.append(Mistake("false positive", decision.slug, paper, decision.score, decision.reason))
    elif wanted:
        score.fn += 1
        reason = decision.reason or "no rule fired"
        mistakes.append(Mistake("miss", decision.slug, paper, decision.score, reason))


@dataclass(frozen=True)
class TopicFigures:
    """One topic's figures on the labelled held-out papers, with its rules as stored (`now`)
    and as previewed (`after`)."""

    papers: int
    positives: int
    now: TopicScore
    after: TopicScore


def topic_figures(
    *, stored: Topic, candidate: Topic, now: LearnedModel | None, after: LearnedModel | None
) -> TopicFigures | None:
    """What a rules change does to the topic's precision and recall on the evaluation set's
    held-out papers; None when the set labels no paper for this topic."""
    papers = load_set(labelled_set(), split="heldout")
    if not any(stored.slug in p.topics for p in papers):
        return None
    before = evaluate(papers, [stored], [(papers, now)]).topics[0]
    changed = evaluate(papers, [candidate], [(papers, after)]).topics[0]
    return TopicFigures(
        papers=len(papers), positives=sum(stored.slug in p.topics for p in papers), now=before, after=changed
    )
