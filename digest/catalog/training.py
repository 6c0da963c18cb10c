"""Training the learned part of matching from labelled papers.

Examples come from two places: the labelled set's `tune` and `train` parts (real papers
labelled for the seed topics; the `heldout` part is never learned from) and the editors'
decisions (a confirmed match is a positive for that topic, a rejected one a negative; see
`decision_examples`).

For every topic with enough of both kinds of example:

1. the text model's weights are fitted on all its examples (`digest.catalog.textmodel`);
2. out-of-fold log-odds (each example scored by a model fitted without it) feed the topic's
   combiner, a logistic regression over [text log-odds, rule features], so the combiner
   learns how far to trust the text model on papers it has not seen;
3. the threshold is the one that maximises F-beta (BETA below 1 favours precision: an
   off-topic paper in an email costs a reader more than a missed one) on those examples.

Deterministic: the same examples and rules give the same model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from digest.catalog.labelled import LabelledPaper
from digest.catalog.matcher import Combiner, LearnedModel, _slug
from digest.catalog.rules import PaperLike, PaperText, RuleSource, compile_rules, find_evidence
from digest.catalog.textmodel import (
    TextModel,
    empty_model,
    fit_space,
    fit_topic,
    fit_vectorizer,
    paper_document,
)

MIN_POSITIVES = 8
MIN_NEGATIVES = 8
FOLDS = 5
COMBINER_C = 1.0
BETA = 0.7
SEED = 20261202
MAX_THREADS = 4


# One topic's fit: its example rows, their labels, weights, intercept and out-of-fold log-odds.
_Fitted = tuple[list[int], NDArray[np.bool_], NDArray[np.float64], float, NDArray[np.float64]]


@dataclass(frozen=True)
class Example:
    """A labelled paper: `labels` says, per topic slug, whether the paper belongs to it."""

    key: str
    paper: PaperLike
    labels: Mapping[str, bool]


def eval_examples(papers: Iterable[LabelledPaper], slugs: Iterable[str]) -> list[Example]:
    """Examples from labelled papers: each paper is labelled for every one of `slugs`."""
    wanted = list(slugs)
    return [Example(p.id, p, {s: s in p.topics for s in wanted}) for p in papers]


def merge_examples(*groups: Iterable[Example]) -> list[Example]:
    """One example per key; a later group's labels win for the topics it names (an editor's
    decision overrides the evaluation set's label of the same paper)."""
    merged: dict[str, Example] = {}
    for group in groups:
        for example in group:
            known = merged.get(example.key)
            labels = {**(known.labels if known else {}), **example.labels}
            merged[example.key] = Example(example.key, known.paper if known else example.paper, labels)
    return list(merged.values())


def train(examples: Sequence[Example], topics: Sequence[RuleSource]) -> LearnedModel:
    """Fit the text model and a combiner for every topic with enough labelled examples."""
    learnable = [t for t in topics if _enough(examples, _slug(t))]
    if not learnable:
        return LearnedModel(empty_model(), {}, {})
    vectorizer, vectors = fit_vectorizer([paper_document(e.paper) for e in examples])
    texts = [PaperText(e.paper) for e in examples]
    weights: dict[str, NDArray[np.float64]] = {}
    intercepts: dict[str, float] = {}
    combiners: dict[str, Combiner] = {}
    oof: dict[str, dict[str, float]] = {}

    # Each topic's labelled example rows (an editor's decision may label one topic only).
    topic_rows = {_slug(t): [n for n, e in enumerate(examples) if _slug(t) in e.labels] for t in learnable}

    def fit(topic: RuleSource) -> _Fitted:
        slug = _slug(topic)
        rows = topic_rows[slug]
        labels = np.array([examples[n].labels[slug] for n in rows], dtype=bool)
        matrix = vectors[rows]
        w, b = fit_topic(matrix, labels)
        return rows, labels, w, b, _out_of_fold(matrix, labels)

    def rule_features(topic: RuleSource) -> list[list[float]]:
        rules = compile_rules(topic)
        return [find_evidence(texts[n], rules).features() for n in topic_rows[_slug(topic)]]

    # liblinear releases the GIL: topics are fitted side by side, one per core, while this
    # thread reads the rules' evidence.
    pool = ThreadPoolExecutor(max_workers=min(len(learnable), _threads()))
    try:
        pending = [pool.submit(fit, topic) for topic in learnable]
        evidence = [rule_features(topic) for topic in learnable]
        fitted = [future.result() for future in pending]
    except BaseException:  # a soft time limit: stop, without waiting for the topics queued
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for topic, (rows, labels, w, b, held_out), features in zip(learnable, fitted, evidence, strict=True):
        slug = _slug(topic)
        weights[slug], intercepts[slug] = w, b
        oof[slug] = {examples[n].key: float(v) for n, v in zip(rows, held_out, strict=True)}
        combiners[slug] = fit_combiner(held_out, features, labels)
    return LearnedModel(TextModel(vectorizer, weights, intercepts, fit_space(vectors)), combiners, oof)


def _threads() -> int:
    """Threads for fitting topics: the CPUs this process may run on (a container's, not the
    host's), at most MAX_THREADS (each holds a copy of its topic's rows)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_THREADS))


def _enough(examples: Sequence[Example], slug: str) -> bool:
    positives = sum(1 for e in examples if e.labels.get(slug) is True)
    negatives = sum(1 for e in examples if e.labels.get(slug) is False)
    return positives >= MIN_POSITIVES and negatives >= MIN_NEGATIVES


def refit_combiner(
    learned: LearnedModel, topic: RuleSource, examples: Sequence[Example]
) -> LearnedModel | None:
    """The model with one topic's combiner refitted for the topic's (new) rules, the text model
    unchanged; None when the model never learned that topic. Cheap: for a rules preview."""
    slug = _slug(topic)
    held = learned.oof.get(slug)
    if held is None:
        return None
    rows = [e for e in examples if e.key in held and slug in e.labels]
    labels = np.array([e.labels[slug] for e in rows], dtype=bool)
    rules = compile_rules(topic)
    features = [find_evidence(PaperText(e.paper), rules).features() for e in rows]
    combiner = fit_combiner(np.array([held[e.key] for e in rows]), features, labels)
    return LearnedModel(learned.text, {**learned.combiners, slug: combiner}, learned.oof)


def fit_combiner(
    logits: NDArray[np.float64], features: Sequence[Sequence[float]], labels: NDArray[np.bool_]
) -> Combiner:
    from sklearn.linear_model import LogisticRegression  # loaded on first use (~100 MB)

    inputs = np.column_stack([logits, np.array(features, dtype=float).reshape(len(labels), -1)])
    model = LogisticRegression(C=COMBINER_C, class_weight="balanced", max_iter=2000)
    model.fit(inputs, labels)
    probabilities = model.predict_proba(inputs)[:, 1]
    return Combiner(
        weights=tuple(round(float(w), 6) for w in model.coef_[0]),
        intercept=round(float(model.intercept_[0]), 6),
        threshold=best_threshold(probabilities, labels),
        positives=int(labels.sum()),
        negatives=int((~labels).sum()),
    )


def best_threshold(probabilities: NDArray[np.float64], labels: NDArray[np.bool_]) -> float:
    """The probability cut that maximises F-beta on these examples (ties: the higher cut)."""
    best, chosen = -1.0, 0.5
    for cut in np.round(np.arange(0.05, 0.991, 0.01), 2):
        predicted = probabilities >= cut
        tp = int((predicted & labels).sum())
        fp = int((predicted & ~labels).sum())
        fn = int((~predicted & labels).sum())
        b2 = BETA * BETA
        score = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0
        if score >= best:
            best, chosen = score, float(cut)
    return chosen


def _out_of_fold(matrix: object, labels: NDArray[np.bool_]) -> NDArray[np.float64]:
    from sklearn.model_selection import StratifiedKFold

    folds = min(FOLDS, int(labels.sum()), int((~labels).sum()))
    result = np.zeros(len(labels))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), labels):
        w, b = fit_topic(matrix[train_rows], labels[train_rows])  # type: ignore[index]
        result[test_rows] = matrix[test_rows] @ w + b  # type: ignore[index]
    return result
