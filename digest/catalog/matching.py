"""Paper ↔ topic matches in the database: computed when a paper arrives, a topic's rules change
or the learned model is retrained, never per reader.

What decides a match lives in `digest.catalog.rules` (the written rules) and
`digest.catalog.matcher` (rules plus the learned model of `digest.catalog.learning`). This
module stores the verdicts as automatic PaperTopic rows (an editor's manual row is never
touched) and previews what a rules change would do before it is saved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from digest.catalog.freshness import catalog_changed
from digest.catalog.learning import current_model, training_examples
from digest.catalog.matcher import Decision, LearnedModel, Matcher, TopicMatch
from digest.catalog.rules import CATEGORY_RE, RULE_KEYS, PaperLike, compile_rules, validate_rules
from digest.catalog.training import Example, refit_combiner
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

__all__ = [
    "CATEGORY_RE",
    "RULE_KEYS",
    "RulesPreview",
    "TopicMatch",
    "compile_rules",
    "match_paper",
    "preview_topic_rules",
    "rematch_papers",
    "rematch_topic",
    "validate_rules",
]

CHUNK_SIZE = 500
_PAPER_FIELDS = ("id", "title", "abstract", "ai_summary", "ai_keywords", "categories", "vector")


@dataclass
class PreviewMatch:
    paper: Paper
    score: float
    reason: str


@dataclass
class RulesPreview:
    matches: list[PreviewMatch] = field(default_factory=list)
    gained: list[Paper] = field(default_factory=list)
    lost: list[Paper] = field(default_factory=list)
    learned: bool = False


def match_paper(
    paper: PaperLike, topics: Iterable[Topic], learned: LearnedModel | None = None
) -> list[TopicMatch]:
    """Every topic the paper matches, best first. Pure: touches no database."""
    return Matcher(topics, learned).match(paper)


def rematch_papers(
    *,
    papers: Iterable[Paper] | QuerySet[Paper] | None = None,
    topics: Iterable[Topic] | None = None,
    learned: LearnedModel | None = None,
) -> int:
    """Store automatic PaperTopic rows for these papers and topics (all when None); returns rows
    changed. Uses the stored learned model unless one is given.

    Creates, updates and deletes automatic rows only; rows with manual=True are never touched.
    Each chunk of papers is written in one transaction. Idempotent.
    """
    chosen = list(Topic.objects.all()) if topics is None else list(topics)
    if not chosen:
        return 0
    matcher = Matcher(chosen, learned if learned is not None else current_model())
    source = Paper.objects.all() if papers is None else papers
    if isinstance(source, QuerySet):
        source = source.only(*_PAPER_FIELDS).order_by("pk").iterator(chunk_size=CHUNK_SIZE)
    return sum(_rematch_chunk(chunk, matcher) for chunk in _batched(source, CHUNK_SIZE))


def _rematch_chunk(papers: list[Paper], matcher: Matcher) -> int:
    now = timezone.now()
    judged = list(matcher.judge(papers))
    verdicts = [decisions for decisions, _ in judged]
    topic_ids = [t.rules.topic_id for t in matcher.topics]
    moved = []
    for paper, (_, vector) in zip(papers, judged, strict=True):
        # A paper loaded without its vector (deferred) is written without reading it first.
        stored = None if "vector" in paper.get_deferred_fields() else paper.vector
        if vector is not None and (stored is None or bytes(stored) != vector):
            paper.vector = vector
            moved.append(paper)
    with transaction.atomic():
        if moved:
            Paper.objects.bulk_update(moved, ["vector"])
        rows = PaperTopic.objects.select_for_update().filter(
            paper__in=[p.pk for p in papers], topic_id__in=topic_ids
        )
        existing = {(row.paper_id, row.topic_id): row for row in rows}
        create, update, delete = [], [], []
        for paper, decisions in zip(papers, verdicts, strict=True):
            for decision in decisions:
                row = existing.get((paper.pk, decision.topic_id))
                if row is not None and row.manual:
                    continue  # an editor's decision
                if not decision.matched:
                    if row is not None:
                        delete.append(row.pk)
                elif row is None:
                    create.append(
                        PaperTopic(
                            paper=paper,
                            topic_id=decision.topic_id,
                            score=decision.score,
                            reason=decision.reason,
                        )
                    )
                elif (row.score, row.reason, row.excluded) != (decision.score, decision.reason, False):
                    row.score, row.reason, row.excluded, row.matched_at = (
                        decision.score,
                        decision.reason,
                        False,
                        now,
                    )
                    update.append(row)
        PaperTopic.objects.bulk_create(create, ignore_conflicts=True)
        PaperTopic.objects.bulk_update(update, ["score", "reason", "excluded", "matched_at"])
        PaperTopic.objects.filter(pk__in=delete).delete()
        if moved or create or update or delete:
            catalog_changed()
    return len(create) + len(update) + len(delete)


def _batched(items: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def rematch_topic(topic_id: int) -> int:
    """Re-match every paper against one topic as it now stands; returns rows changed."""
    return rematch_papers(topics=[Topic.objects.get(pk=topic_id)])


def topic_with_rules(rules: Mapping[str, Any], topic: Topic | None) -> Topic:
    """An unsaved copy of `topic` (or a new topic) carrying `rules` (validated)."""
    clean = validate_rules(rules)
    return Topic(
        pk=topic.pk if topic else None,
        slug=topic.slug if topic else "",
        name=topic.name if topic else "",
        **clean,
    )


def model_for_rules(candidate: Topic) -> LearnedModel | None:
    """The stored model with the candidate topic's combiner refitted for its rules (what saving
    the rules and retraining would give); the stored model when it never learned the topic."""
    learned = current_model()
    if learned is None or candidate.slug not in learned.combiners:
        return learned
    return refit_combiner(learned, candidate, preview_examples(training_examples([candidate]))) or learned


PREVIEW_TRAIN_EXAMPLES = 3000


def preview_examples(examples: Sequence[Example]) -> list[Example]:
    """The examples a rules preview refits the combiner on: all of them but the `train` papers,
    of which a fixed sample of PREVIEW_TRAIN_EXAMPLES (reading the rules' evidence on all
    19,000 labelled papers would take the admin page 5-10 s)."""
    train = sorted((e for e in examples if getattr(e.paper, "split", "") == "train"), key=_stable_order)
    kept = {id(e) for e in train[:PREVIEW_TRAIN_EXAMPLES]}
    return [e for e in examples if getattr(e.paper, "split", "") != "train" or id(e) in kept]


def _stable_order(example: Example) -> str:
    return hashlib.sha256(example.key.encode()).hexdigest()


def preview_topic_rules(
    *, rules: Mapping[str, Any], topic_id: int | None, papers: QuerySet[Paper] | None = None
) -> RulesPreview:
    """What `rules` would match among `papers` (all non-withdrawn by default), and which papers
    the topic would gain or lose against its stored automatic matches. Writes nothing."""
    topic = Topic.objects.filter(pk=topic_id).first() if topic_id is not None else None
    candidate = topic_with_rules(rules, topic)
    learned = model_for_rules(candidate)
    matcher = Matcher([candidate], learned)
    scanned = papers if papers is not None else Paper.objects.filter(withdrawn=False)
    current: set[int] = set()
    manual: set[int] = set()
    if topic_id is not None:
        for paper_id, is_manual, excluded in PaperTopic.objects.filter(topic_id=topic_id).values_list(
            "paper_id", "manual", "excluded"
        ):
            if is_manual:
                manual.add(paper_id)
            elif not excluded:
                current.add(paper_id)
    preview = RulesPreview(learned=bool(learned and candidate.slug in learned.combiners))
    for chunk in _batched(
        scanned.only(*_PAPER_FIELDS).order_by("pk").iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE
    ):
        for paper, (decision,) in zip(chunk, matcher.decisions(chunk), strict=True):
            _preview_one(preview, paper, decision, current, manual)
    preview.matches.sort(key=lambda m: (-m.score, m.paper.pk))
    return preview


def _preview_one(
    preview: RulesPreview, paper: Paper, decision: Decision, current: set[int], manual: set[int]
) -> None:
    if decision.matched:
        preview.matches.append(PreviewMatch(paper=paper, score=decision.score, reason=decision.reason))
        if paper.pk not in current and paper.pk not in manual:
            preview.gained.append(paper)
    elif paper.pk in current:
        preview.lost.append(paper)


def decisions_for(papers: Sequence[PaperLike], topics: Sequence[Topic]) -> list[list[Decision]]:
    """Every (paper, topic) verdict with the stored model, for reports."""
    return list(Matcher(topics, current_model()).decisions(papers))
