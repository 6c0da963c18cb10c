"""Deciding whether a paper belongs to a topic: the topic's rules and, where labelled papers
exist, a learned model.

For a topic the model has learned (see `digest.catalog.training`), a small logistic
*combiner* weighs the text model's log-odds (`digest.catalog.textmodel`) together with the
rules' evidence (`digest.catalog.rules`: strong and weak terms in title and abstract, keywords,
categories), and the paper matches when the combined probability reaches the topic's
threshold, chosen on labelled papers. So a specific phrase usually carries a match, a generic
word needs support, and a paper whose words are like the labelled ones can match even when no
written term fires. A topic with nothing learned yet (a new topic, too few labelled papers)
matches on its rules alone. An `exclude_terms` hit vetoes the topic either way.

Pure: no database access; `digest.catalog.matching` stores what this decides.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from digest.catalog.rules import (
    CompiledRules,
    Evidence,
    PaperLike,
    PaperText,
    RuleSource,
    compile_rules,
    find_evidence,
)
from digest.catalog.textmodel import TextModel, paper_document, to_vector_bytes

REASON_MAX = 300
BATCH = 500


@dataclass(frozen=True)
class TopicMatch:
    topic_id: int
    score: float
    reason: str


@dataclass(frozen=True)
class Combiner:
    """One topic's learned decision: logistic weights over [text log-odds, *rule features]."""

    weights: tuple[float, ...]
    intercept: float
    threshold: float
    positives: int
    negatives: int

    def probability(self, logit: float, evidence: Evidence) -> float:
        z = self.intercept + sum(
            w * x for w, x in zip(self.weights, [logit, *evidence.features()], strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass
class LearnedModel:
    """What training produced: the text model, a combiner per learned topic (by slug), and the
    out-of-fold text log-odds of every training paper (by example key), so one topic's combiner
    can be refitted for new rules without training the text model again."""

    text: TextModel
    combiners: dict[str, Combiner]
    oof: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        slugs = sorted(self.oof)
        keys = {s: sorted(self.oof[s]) for s in slugs}
        meta = {"combiners": {s: c.__dict__ for s, c in sorted(self.combiners.items())}, "oof_keys": keys}
        arrays: dict[str, NDArray[Any]] = {
            "text": np.frombuffer(self.text.to_bytes(), dtype=np.uint8),
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        }
        for n, s in enumerate(slugs):
            arrays[f"oof_{n}"] = np.array([self.oof[s][k] for k in keys[s]], dtype=np.float64)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LearnedModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes().decode())
            text = TextModel.from_bytes(arrays["text"].tobytes())
            oof = {
                s: dict(zip(keys, arrays[f"oof_{n}"].tolist(), strict=True))
                for n, (s, keys) in enumerate(sorted(meta["oof_keys"].items()))
            }
        combiners = {
            s: Combiner(**{**c, "weights": tuple(c["weights"])}) for s, c in meta["combiners"].items()
        }
        return cls(text=text, combiners=combiners, oof=oof)


@dataclass(frozen=True)
class TopicRules:
    slug: str
    rules: CompiledRules


@dataclass(frozen=True)
class Decision:
    """One (paper, topic) verdict with what led to it, for reports and previews."""

    slug: str
    topic_id: int
    matched: bool
    score: float
    reason: str


class Matcher:
    """Every topic's compiled rules plus the learned model, ready to judge many papers."""

    def __init__(self, topics: Iterable[RuleSource], learned: LearnedModel | None = None) -> None:
        self.topics = [TopicRules(slug=_slug(t), rules=compile_rules(t)) for t in topics]
        self.learned = learned

    def learned_slugs(self) -> set[str]:
        if self.learned is None:
            return set()
        return {t.slug for t in self.topics if t.slug in self.learned.combiners}

    def decisions(self, papers: Sequence[PaperLike]) -> Iterator[list[Decision]]:
        """For each paper (in order), a Decision for every topic."""
        for decisions, _ in self.judge(papers):
            yield decisions

    def judge(self, papers: Sequence[PaperLike]) -> Iterator[tuple[list[Decision], bytes | None]]:
        """For each paper (in order): a Decision for every topic, and the paper's vector in the
        learned model's space (float16 bytes; None without a learned model)."""
        learned = self.learned_slugs()
        for start in range(0, len(papers), BATCH):
            chunk = papers[start : start + BATCH]
            logits, vectors = self._read(chunk, learned)
            for n, paper in enumerate(chunk):
                text = PaperText(paper)
                decisions = [
                    self._decide(topic, find_evidence(text, topic.rules), logits.get(topic.slug), n)
                    for topic in self.topics
                ]
                yield decisions, None if vectors is None else to_vector_bytes(vectors[n])

    def match(self, paper: PaperLike) -> list[TopicMatch]:
        """Every topic the paper matches, best first."""
        (found,) = self.decisions([paper])
        return sorted(
            (TopicMatch(d.topic_id, d.score, d.reason) for d in found if d.matched), key=lambda m: -m.score
        )

    def _read(self, papers: Sequence[PaperLike], slugs: set[str]) -> tuple[dict[str, Any], Any]:
        """The text model's log-odds per learned topic, and the papers' dense vectors."""
        if self.learned is None:
            return {}, None
        tfidf = self.learned.text.vectors([paper_document(p) for p in papers])
        logits = {s: self.learned.text.logits(tfidf, s) for s in slugs}
        return logits, self.learned.text.embed(tfidf)

    def _decide(self, topic: TopicRules, evidence: Evidence, logits: Any, row: int) -> Decision:
        topic_id = topic.rules.topic_id
        if evidence.vetoed:
            return Decision(topic.slug, topic_id, False, 0.0, evidence.vetoed)
        if logits is None or self.learned is None:
            score = round(evidence.weight / (evidence.weight + 1.0), 4)
            return Decision(topic.slug, topic_id, evidence.matched, score, _reason(evidence.labels))
        combiner = self.learned.combiners[topic.slug]
        probability = combiner.probability(float(logits[row]), evidence)
        matched = probability >= combiner.threshold
        label = f"learned {probability:.2f}" + ("" if evidence.hits else " (words like its labelled papers)")
        return Decision(
            topic.slug, topic_id, matched, round(probability, 4), _reason([label, *evidence.labels])
        )


def _slug(topic: RuleSource) -> str:
    return str(getattr(topic, "slug", "") or topic.pk)


def _reason(labels: list[str]) -> str:
    reason = ", ".join(labels)
    if len(reason) > REASON_MAX:
        reason = reason[: REASON_MAX - 1].rsplit(", ", 1)[0] + "…"
    return reason
