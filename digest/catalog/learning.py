"""The learned matching model in use: what it learns from, when it is trained, where it lives.

It learns from the labelled set's `tune` and `train` parts (seeds/eval/papers.jsonl, labelled
for the seed topics) and from every editor's decision (a PaperTopic row with `manual=True`: confirmed
when not excluded, rejected when excluded); an editor's decision on a paper overrides the
set's label for that topic. The trained model is stored in the database (MatchingModel,
newest row in use) under a fingerprint of everything it was trained on, so `ensure_trained`
trains again only when an example, a decision or a topic's rules changed. Each process keeps
the model it loaded until a newer row appears.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.catalog.labelled import LEARNED_SPLITS, labelled_set, load_set
from digest.catalog.matcher import LearnedModel
from digest.catalog.rules import rule_lists
from digest.catalog.training import Example, eval_examples, merge_examples, train
from digest.models import MatchingModel, Paper, PaperTopic
from subscriptions.models import Topic

logger = logging.getLogger(__name__)

# Bump when training changes in a way the fingerprint cannot see (features, hyperparameters).
MODEL_VERSION = 3  # 2: logistic C 16, the latent space fitted on a sample; 3: C 64
KEEP_MODELS = 3
_PAPER_FIELDS = ("id", "paper_id", "title", "abstract", "ai_summary", "ai_keywords", "categories")


@dataclass
class TrainReport:
    trained: bool
    examples: int
    decisions: int
    learned: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"trained": self.trained, "examples": self.examples, "decisions": self.decisions}


def labelled_slugs(path: Path | None = None) -> set[str]:
    """Every topic slug the labelled set labels."""
    return {slug for paper in load_set(path or labelled_set()) for slug in paper.topics}


def decision_examples(topics: Iterable[Topic]) -> list[Example]:
    """One example per paper an editor decided for any of `topics` (keyed by the paper's id,
    as the evaluation set is, so a decision overrides the set's label of the same paper)."""
    slug_of = {t.pk: t.slug for t in topics}
    rows = PaperTopic.objects.filter(manual=True, topic_id__in=list(slug_of)).values_list(
        "paper_id", "topic_id", "excluded"
    )
    labels: dict[int, dict[str, bool]] = {}
    for paper_pk, topic_id, excluded in rows:
        labels.setdefault(paper_pk, {})[slug_of[topic_id]] = not excluded
    papers = Paper.objects.filter(pk__in=list(labels)).only(*_PAPER_FIELDS).order_by("pk")
    return [Example(p.paper_id, p, labels[p.pk]) for p in papers]


def set_examples(topics: Sequence[Topic], *, path: Path | None = None) -> list[Example]:
    """The set's `tune` and `train` papers, labelled for those of `topics` that the set labels."""
    papers = load_set(path or labelled_set())
    slugs = {slug for p in papers for slug in p.topics} & {t.slug for t in topics}
    if not slugs:
        return []
    return eval_examples([p for p in papers if p.split in LEARNED_SPLITS], sorted(slugs))


def training_examples(topics: Sequence[Topic], *, path: Path | None = None) -> list[Example]:
    """The set's learned parts merged with the editors' decisions on `topics`."""
    return merge_examples(set_examples(topics, path=path), decision_examples(topics))


def fingerprint(examples: Sequence[Example], topics: Sequence[Topic]) -> str:
    """A hash of everything training reads: the examples (id, labels, text) and every rule."""
    digest = hashlib.sha256(f"v{MODEL_VERSION}\n".encode())
    for e in sorted(examples, key=lambda e: e.key):
        text = [e.paper.title, e.paper.abstract, getattr(e.paper, "ai_summary", "")]
        digest.update(json.dumps([e.key, sorted(e.labels.items()), text]).encode())
    for t in sorted(topics, key=lambda t: t.slug):
        digest.update(json.dumps([t.slug, rule_lists(t)], sort_keys=True).encode())
    return digest.hexdigest()


def ensure_trained(*, force: bool = False) -> TrainReport:
    """Train and store a new model when what it learns from changed (or when forced)."""
    topics = list(Topic.objects.order_by("pk"))
    examples = training_examples(topics)
    decisions = PaperTopic.objects.filter(manual=True).count()
    mark = fingerprint(examples, topics)
    latest = MatchingModel.objects.order_by("-pk").only("pk", "fingerprint").first()
    if latest is not None and latest.fingerprint == mark and not force:
        return TrainReport(False, len(examples), decisions)
    learned = (None if force else _trained.get(mark)) or train(examples, topics)
    _trained.put(mark, learned)
    summary = {
        slug: {"positives": c.positives, "negatives": c.negatives, "threshold": c.threshold}
        for slug, c in learned.combiners.items()
    }
    row = MatchingModel.objects.create(fingerprint=mark, summary=summary, payload=learned.to_bytes())
    MatchingModel.objects.filter(pk__lt=row.pk).exclude(
        pk__in=MatchingModel.objects.order_by("-pk").values_list("pk", flat=True)[:KEEP_MODELS]
    ).delete()
    _cache.put((row.pk, mark), learned)
    logger.info(
        "matching model %s trained: %d examples, %d topics learned", row.pk, len(examples), len(summary)
    )
    return TrainReport(True, len(examples), decisions, summary)


class _Cache:
    """The last few models, by key (a row's pk and fingerprint, or a fingerprint)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._models: OrderedDict[object, LearnedModel] = OrderedDict()

    def get(self, key: object) -> LearnedModel | None:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
            return model

    def put(self, key: object, model: LearnedModel) -> None:
        with self._lock:
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self._size:
                self._models.popitem(last=False)


_cache = _Cache(1)
# Models trained in this process, by fingerprint: the same examples and rules train the same
# model, so storing it again (a database rolled back, a second load_seeds) costs no training.
_trained = _Cache(4)


def current_model() -> LearnedModel | None:
    """The newest stored model (None before the first training); one query when cached."""
    latest = MatchingModel.objects.order_by("-pk").values_list("pk", "fingerprint").first()
    if latest is None:
        return None
    cached = _cache.get(latest)
    if cached is not None:
        return cached
    payload = MatchingModel.objects.values_list("payload", flat=True).get(pk=latest[0])
    model = LearnedModel.from_bytes(bytes(payload))
    _cache.put(latest, model)
    return model
