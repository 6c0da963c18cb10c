"""Paper ↔ topic matching: run when a paper arrives or a topic's rules change, never per reader.

Rules (see subscriptions.models.Topic): `terms` are words or phrases matched
case-insensitively on word boundaries ("fusion" never matches "diffusion"),
tolerant of hyphens and spaces ("text-to-video" = "text to video") and of a
plural "s"; a trailing "*" matches any ending ("watermark*"), and "a + b" needs
both parts somewhere in the paper ("diffusion + accelerat*"). `exclude_terms`
veto a match, `categories` are arXiv categories, `hf_keywords` are compared with
the paper's Hugging Face `ai_keywords`. A title hit weighs more than an abstract
hit; the score is raw / (raw + 1), so it lies in 0..1 and grows with every hit,
and a lone passing mention in the abstract (score below MIN_SCORE) is no match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

RULE_KEYS = ("terms", "exclude_terms", "categories", "hf_keywords")
TITLE_WEIGHT = 1.0
ABSTRACT_WEIGHT = 0.4
ABSTRACT_REPEAT_WEIGHT = 0.1  # per extra occurrence, up to ABSTRACT_REPEAT_CAP of them
ABSTRACT_REPEAT_CAP = 3
KEYWORD_WEIGHT = 0.5
CATEGORY_WEIGHT = 0.5
# A single passing mention in the abstract (raw 0.4) is not a match; a title hit,
# a keyword, a category or a repeated or second abstract hit is.
MIN_SCORE = 0.3
REASON_MAX = 300
CHUNK_SIZE = 500
# An arXiv category: "cs.CL", "stat.ML", "hep-th".
CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z-]+)?$")
_PAPER_FIELDS = ("id", "title", "abstract", "ai_summary", "ai_keywords", "categories")


class PaperLike(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...


@dataclass(frozen=True)
class TopicMatch:
    topic_id: int
    score: float
    reason: str


@dataclass(frozen=True)
class Term:
    """One compiled rule term: every part must occur (parts are joined by " + ").

    Patterns run on lower-cased text and leave out the leading word boundary (a
    leading look-behind makes the regex engine try every position, ~30x slower);
    `_hits` checks that boundary on each match instead.
    """

    label: str
    parts: tuple[re.Pattern[str], ...]
    # The first word of each part: a cheap substring test that skips most regex scans.
    needles: tuple[str, ...]

    def search(self, text: str) -> bool:
        return self.count(text, first_only=True) > 0

    def count(self, text: str, *, first_only: bool = False) -> int:
        lowered = text.lower()
        if not all(n in lowered for n in self.needles):
            return 0
        return min(_hits(p, lowered, first_only=first_only) for p in self.parts)


def _hits(pattern: re.Pattern[str], lowered: str, *, first_only: bool) -> int:
    found = 0
    for m in pattern.finditer(lowered):
        before = lowered[m.start() - 1] if m.start() else " "
        if not (before.isalnum() or before == "_"):
            found += 1
            if first_only:
                break
    return found


@dataclass(frozen=True)
class CompiledRules:
    topic_id: int
    terms: tuple[Term, ...]
    excludes: tuple[Term, ...]
    categories: frozenset[str]
    hf_keywords: tuple[Term, ...]


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


def term_pattern(term: str) -> re.Pattern[str] | None:
    """A hyphen/space tolerant regex for one rule term, run on lower-cased text (see Term)."""
    raw = term.strip().lower()
    prefix = raw.endswith("*")
    tokens = [t for t in re.split(r"[\s\-]+", raw.rstrip("*")) if t]
    if not tokens:
        return None
    body = r"[\s\-]*".join(re.escape(t) for t in tokens)
    tail = r"\w*" if prefix else r"(?:s|es)?"
    return re.compile(rf"{body}{tail}(?!\w)")


def compile_term(term: str) -> Term | None:
    """A Term for "phrase" or "part + part"; None when a part has nothing to match."""
    parts = [term_pattern(part) for part in term.split(" + ")]
    if not parts or any(p is None for p in parts):
        return None
    pieces = term.strip().lower().split(" + ")
    label = " + ".join(" ".join(part.split()) for part in pieces)
    needles = tuple(re.split(r"[\s\-]+", part.strip().rstrip("*").strip())[0] for part in pieces)
    return Term(label=label, parts=tuple(p for p in parts if p is not None), needles=needles)


def validate_rules(rules: Mapping[str, Any]) -> dict[str, list[str]]:
    """Cleaned rules (the four lists, stripped, de-duplicated); ValueError says what is wrong."""
    unknown = set(rules) - set(RULE_KEYS)
    if unknown:
        raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
    clean: dict[str, list[str]] = {}
    for key in RULE_KEYS:
        values = rules.get(key) or []
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{key} must be a list of strings")
        items = list(dict.fromkeys(v.strip() for v in values if v.strip()))
        for item in items:
            if key == "categories" and not CATEGORY_RE.match(item):
                raise ValueError(f"{item!r} is not an arXiv category like cs.CL")
            if key != "categories" and compile_term(item) is None:
                raise ValueError(f"{key}: {item!r} has no letters or digits to match")
        clean[key] = items
    return clean


def compile_rules(topic: Topic) -> CompiledRules:
    """Compile a topic's rules once, for matching many papers."""

    def patterns(values: Iterable[str]) -> tuple[Term, ...]:
        # "long context" and "long-context" compile alike: keep one so it is not counted twice.
        unique: dict[tuple[str, ...], Term] = {}
        for term in filter(None, (compile_term(v) for v in values or [])):
            unique.setdefault(tuple(p.pattern for p in term.parts), term)
        return tuple(unique.values())

    return CompiledRules(
        topic_id=topic.pk,
        terms=patterns(topic.terms),
        excludes=patterns(topic.exclude_terms),
        categories=frozenset(c.strip().lower() for c in topic.categories or [] if c.strip()),
        hf_keywords=patterns(topic.hf_keywords),
    )


def match_compiled(paper: PaperLike, rules: CompiledRules) -> TopicMatch | None:
    """The match of one paper against compiled rules, or None (no hit, or vetoed)."""
    title = paper.title or ""
    abstract = " ".join(filter(None, [paper.abstract, getattr(paper, "ai_summary", "")]))
    if any(p.search(title) or p.search(abstract) for p in rules.excludes):
        return None
    raw = 0.0
    hits: list[tuple[float, str]] = []
    for term in rules.terms:
        if term.search(title):
            raw += TITLE_WEIGHT
            hits.append((TITLE_WEIGHT + 1, f'title "{term.label}"'))
            continue
        count = term.count(f"{title}\n{abstract}") if len(term.parts) > 1 else term.count(abstract)
        if count:
            weight = ABSTRACT_WEIGHT + ABSTRACT_REPEAT_WEIGHT * min(count - 1, ABSTRACT_REPEAT_CAP)
            raw += weight
            hits.append((weight, f'abstract "{term.label}"' + (f" x{count}" if count > 1 else "")))
    keywords = [k for k in getattr(paper, "ai_keywords", None) or [] if isinstance(k, str)]
    for term in rules.hf_keywords:
        if any(term.search(k) for k in keywords):
            raw += KEYWORD_WEIGHT
            hits.append((KEYWORD_WEIGHT, f'keyword "{term.label}"'))
    categories = {c.lower() for c in getattr(paper, "categories", None) or [] if isinstance(c, str)}
    for category in sorted(rules.categories & categories):
        raw += CATEGORY_WEIGHT
        hits.append((CATEGORY_WEIGHT, f"category {category}"))
    score = round(raw / (raw + 1.0), 4)
    if score < MIN_SCORE:
        return None
    hits.sort(key=lambda h: -h[0])
    reason = ", ".join(label for _, label in hits)
    if len(reason) > REASON_MAX:
        reason = reason[: REASON_MAX - 1].rsplit(", ", 1)[0] + "…"
    return TopicMatch(topic_id=rules.topic_id, score=score, reason=reason)


def match_paper(paper: PaperLike, topics: Iterable[Topic]) -> list[TopicMatch]:
    """Every topic the paper matches, best first. Pure: reads attributes, touches no database."""
    found = [m for t in topics if (m := match_compiled(paper, compile_rules(t))) is not None]
    return sorted(found, key=lambda m: -m.score)


def rematch_papers(
    *, papers: Iterable[Paper] | QuerySet[Paper] | None = None, topics: Iterable[Topic] | None = None
) -> int:
    """Store automatic PaperTopic rows for these papers and topics (all when None); returns rows changed.

    Creates, updates and deletes automatic rows only; rows with manual=True are never touched.
    Each chunk of papers is written in one transaction. Idempotent.
    """
    compiled = [compile_rules(t) for t in (Topic.objects.all() if topics is None else topics)]
    if not compiled:
        return 0
    source = Paper.objects.all() if papers is None else papers
    if isinstance(source, QuerySet):
        source = source.only(*_PAPER_FIELDS).order_by("pk").iterator(chunk_size=CHUNK_SIZE)
    return sum(_rematch_chunk(chunk, compiled) for chunk in _batched(source, CHUNK_SIZE))


def _rematch_chunk(papers: list[Paper], compiled: list[CompiledRules]) -> int:
    now = timezone.now()
    with transaction.atomic():
        rows = PaperTopic.objects.select_for_update().filter(
            paper__in=[p.pk for p in papers], topic_id__in=[c.topic_id for c in compiled]
        )
        existing = {(row.paper_id, row.topic_id): row for row in rows}
        create, update, delete = [], [], []
        for paper in papers:
            for rules in compiled:
                row = existing.get((paper.pk, rules.topic_id))
                if row is not None and row.manual:
                    continue  # an editor's decision
                match = match_compiled(paper, rules)
                if match is None:
                    if row is not None:
                        delete.append(row.pk)
                elif row is None:
                    create.append(
                        PaperTopic(
                            paper=paper, topic_id=match.topic_id, score=match.score, reason=match.reason
                        )
                    )
                elif (row.score, row.reason, row.excluded) != (match.score, match.reason, False):
                    row.score, row.reason, row.excluded, row.matched_at = (
                        match.score,
                        match.reason,
                        False,
                        now,
                    )
                    update.append(row)
        PaperTopic.objects.bulk_create(create, ignore_conflicts=True)
        PaperTopic.objects.bulk_update(update, ["score", "reason", "excluded", "matched_at"])
        PaperTopic.objects.filter(pk__in=delete).delete()
    return len(create) + len(update) + len(delete)


def _batched(items: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def rematch_topic(topic_id: int) -> int:
    """Re-match every paper against one topic's current rules; returns rows changed."""
    return rematch_papers(topics=[Topic.objects.get(pk=topic_id)])


def preview_topic_rules(
    *, rules: Mapping[str, Any], topic_id: int | None, papers: QuerySet[Paper] | None = None
) -> RulesPreview:
    """What `rules` would match among `papers` (all non-withdrawn by default), and which papers
    the topic would gain or lose against its stored automatic matches. Writes nothing."""
    clean = validate_rules(rules)
    compiled = compile_rules(Topic(pk=topic_id or 0, **clean))
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
    preview = RulesPreview()
    for paper in scanned.iterator(chunk_size=CHUNK_SIZE):
        match = match_compiled(paper, compiled)
        if match is not None:
            preview.matches.append(PreviewMatch(paper=paper, score=match.score, reason=match.reason))
            if paper.pk not in current and paper.pk not in manual:
                preview.gained.append(paper)
        elif paper.pk in current:
            preview.lost.append(paper)
    preview.matches.sort(key=lambda m: (-m.score, m.paper.pk))
    return preview
