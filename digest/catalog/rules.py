"""A topic's written rules and the evidence they find in one paper.

Rules (see subscriptions.models.Topic) are lists of terms:

- `terms` are specific phrases: one mention anywhere is evidence enough ("speculative
  decoding", "text-to-speech").
- `weak_terms` are generic words that count only in the title or beside a second hit
  ("speech", "reasoning"): a lone passing mention in the abstract is no match.
- `exclude_terms` veto the topic for a paper that mentions them.
- `categories` are arXiv categories and `hf_keywords` are compared with Hugging Face's
  `ai_keywords`; a keyword is strong evidence, a category supports other hits.

A term is matched on word boundaries ("fusion" never matches "diffusion"), tolerant of hyphens
and spaces ("text-to-video" = "text to video") and of a plural "s"; a trailing "*" matches any
ending ("watermark*"). Case is ignored, except in a word written with capitals after its first
letter ("TTS", "CoT", "LLaVA"): acronyms match only as written, so "TTS" never fires on "tts"
in a URL and "RAG" never on "rag". "a + b" needs both parts in one sentence (the title is a
sentence of its own); "a ! b" is a sense guard: "a", unless "b" occurs anywhere in the paper
("TTS ! test-time scaling").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from math import log1p
from typing import Any, Protocol

RULE_KEYS = ("terms", "weak_terms", "exclude_terms", "categories", "hf_keywords")
# An arXiv category: "cs.CL", "stat.ML", "hep-th".
CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z-]+)?$")

# Evidence weights; a topic's rules alone match a paper when their sum reaches RULE_MATCH.
STRONG_TITLE = 1.0
STRONG_ABSTRACT = 0.6
WEAK_TITLE = 0.5
WEAK_ABSTRACT = 0.25
REPEAT = 0.05  # per extra mention of a term in the abstract, up to REPEAT_CAP of them
REPEAT_CAP = 3
KEYWORD = 0.6
CATEGORY = 0.25
RULE_MATCH = 0.5

_SPLIT = re.compile(r"[\s\-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_CASED = re.compile(r"\w[A-Z]")
_WORD = re.compile(r"\w+")
PREFIX_MAX = 24


class PaperLike(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...


class PaperText:
    """A paper's text prepared once for matching against many topics."""

    def __init__(self, paper: PaperLike) -> None:
        self.title = " ".join((paper.title or "").split())
        summary = getattr(paper, "ai_summary", "") or ""
        self.abstract = " ".join(" ".join(filter(None, [paper.abstract, summary])).split())
        self.title_lower = self.title.lower()
        self.abstract_lower = self.abstract.lower()
        self.keywords = tuple(k for k in getattr(paper, "ai_keywords", None) or [] if isinstance(k, str))
        self.categories = frozenset(
            c.lower() for c in getattr(paper, "categories", None) or [] if isinstance(c, str)
        )

    @cached_property
    def sentences(self) -> tuple[str, ...]:
        return (self.title, *_SENTENCE_END.split(self.abstract))

    @cached_property
    def whole(self) -> str:
        return f"{self.title}\n{self.abstract}"

    @cached_property
    def prefixes(self) -> frozenset[str]:
        """Every beginning of every word (up to PREFIX_MAX letters), lower-cased: a term whose
        first word is not among them cannot match, so most terms are skipped at a set lookup."""
        found: set[str] = set()
        for word in set(_WORD.findall(f"{self.title_lower} {self.abstract_lower}")):
            found.update(word[:k] for k in range(1, min(len(word), PREFIX_MAX) + 1))
        return frozenset(found)


@dataclass(frozen=True)
class Phrase:
    """One hyphen/space tolerant phrase. The regex leaves out the leading word boundary (a
    leading look-behind makes the engine try every position, far slower); `count` checks it.
    A phrase without capitals after a word's first letter runs on lower-cased text (faster);
    one with them ("TTS") runs on the text as written, its acronyms matched by case."""

    pattern: re.Pattern[str]
    needle: str  # the first word, lower-cased: a cheap substring test before any regex scan
    cased: bool = False

    def count(self, text: str, lowered: str, *, first_only: bool = False) -> int:
        if self.needle not in lowered:
            return 0
        source = text if self.cased else lowered
        found = 0
        for m in self.pattern.finditer(source):
            start = m.start()
            if start and (source[start - 1].isalnum() or source[start - 1] == "_"):
                continue
            found += 1
            if first_only:
                break
        return found


@dataclass(frozen=True)
class Term:
    """A compiled rule term: all `parts` in one sentence, none of the `guards` in the paper."""

    label: str
    parts: tuple[Phrase, ...]
    guards: tuple[Phrase, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(p.pattern.pattern for p in (*self.parts, *self.guards))

    @property
    def needle(self) -> str:
        """The first word of the first part: the term can only match where it begins a word."""
        return self.parts[0].needle

    def guarded(self, text: PaperText) -> bool:
        return any(g.count(text.whole, text.whole.lower(), first_only=True) for g in self.guards)

    def in_title(self, text: PaperText) -> bool:
        return all(p.count(text.title, text.title_lower, first_only=True) for p in self.parts)

    def in_abstract(self, text: PaperText) -> int:
        """Mentions in the abstract; for "a + b", the sentences holding every part."""
        if len(self.parts) == 1:
            return self.parts[0].count(text.abstract, text.abstract_lower)
        if not all(p.needle in text.abstract_lower for p in self.parts):
            return 0
        return sum(
            1
            for sentence in text.sentences[1:]
            if all(p.count(sentence, sentence.lower(), first_only=True) for p in self.parts)
        )

    def in_text(self, value: str) -> bool:
        lowered = value.lower()
        return all(p.count(value, lowered, first_only=True) for p in self.parts)


def phrase(raw: str) -> Phrase | None:
    """The Phrase for one rule phrase ("text-to-video", "watermark*", "TTS"); None if empty."""
    text = raw.strip()
    prefix = text.endswith("*")
    tokens = [t for t in _SPLIT.split(text.rstrip("*")) if t]
    if not tokens:
        return None
    tail = r"\w*" if prefix else r"(?:s|es)?"
    if any(_CASED.search(token) for token in tokens):
        pieces = [rf"(?-i:{re.escape(t)})" if _CASED.search(t) else re.escape(t) for t in tokens]
        pattern = re.compile(r"[\s\-]*".join(pieces) + rf"{tail}(?!\w)", re.IGNORECASE)
        return Phrase(pattern=pattern, needle=tokens[0].lower(), cased=True)
    body = r"[\s\-]*".join(re.escape(t.lower()) for t in tokens)
    return Phrase(pattern=re.compile(rf"{body}{tail}(?!\w)"), needle=tokens[0].lower())


def compile_term(term: str) -> Term | None:
    """A Term for "phrase", "part + part" or "phrase ! guard"; None when a piece has nothing to match."""
    head, *guard_texts = term.split(" ! ")
    part_texts = head.split(" + ")
    parts = [phrase(p) for p in part_texts]
    guards = [phrase(g) for g in guard_texts]
    if any(p is None for p in parts) or any(g is None for g in guards):
        return None
    label = " ! ".join(
        [" + ".join(" ".join(p.split()) for p in part_texts), *(" ".join(g.split()) for g in guard_texts)]
    )
    return Term(
        label=label,
        parts=tuple(p for p in parts if p is not None),
        guards=tuple(g for g in guards if g is not None),
    )


def validate_rules(rules: Mapping[str, Any]) -> dict[str, list[str]]:
    """Cleaned rules (every list stripped and de-duplicated); ValueError says what is wrong."""
    unknown = set(rules) - set(RULE_KEYS)
    if unknown:
        raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
    clean: dict[str, list[str]] = {}
    for key in RULE_KEYS:
        values = rules.get(key) or []
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{key} must be a list of strings")
        items = list(dict.fromkeys(" ".join(v.split()) for v in values if v.strip()))
        for item in items:
            if key == "categories" and not CATEGORY_RE.match(item):
                raise ValueError(f"{item!r} is not an arXiv category like cs.CL")
            if key != "categories" and compile_term(item) is None:
                raise ValueError(f"{key}: {item!r} has a part with no letters or digits to match")
        clean[key] = items
    return clean


@dataclass(frozen=True)
class CompiledRules:
    topic_id: int
    terms: tuple[Term, ...]
    weak_terms: tuple[Term, ...]
    excludes: tuple[Term, ...]
    categories: frozenset[str]
    hf_keywords: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        return not (self.terms or self.weak_terms or self.categories or self.hf_keywords)

    @cached_property
    def entries(self) -> tuple[tuple[Term, bool], ...]:
        """Every term with whether it is weak, strong ones first."""
        return (*((t, False) for t in self.terms), *((t, True) for t in self.weak_terms))

    @cached_property
    def index(self) -> dict[str, tuple[int, ...]]:
        """Entries by the word they begin with (words of letters, digits and "_" only)."""
        found: dict[str, list[int]] = {}
        for n, (term, _) in enumerate(self.entries):
            if is_word(term.needle):
                found.setdefault(term.needle[:PREFIX_MAX], []).append(n)
        return {needle: tuple(ns) for needle, ns in found.items()}

    @cached_property
    def loose(self) -> tuple[int, ...]:
        """Entries whose first word has other characters ("qwen2.5"): always tried."""
        return tuple(n for n, (term, _) in enumerate(self.entries) if not is_word(term.needle))

    @cached_property
    def needles(self) -> frozenset[str]:
        return frozenset(self.index)

    def candidates(self, text: PaperText) -> list[tuple[Term, bool]]:
        """The entries that can match this paper, in order."""
        chosen = set(self.loose)
        for needle in self.needles & text.prefixes:
            chosen.update(self.index[needle])
        return [self.entries[n] for n in sorted(chosen)]


def word_tokens(text: str) -> list[str]:
    """The words of `text` as terms see them (runs of letters, digits and "_")."""
    return _WORD.findall(text)


def is_word(needle: str) -> bool:
    """Whether `needle` is one word (see word_tokens)."""
    return bool(_WORD.fullmatch(needle))


class RuleSource(Protocol):
    """What rules are compiled from: a Topic, or anything with its rule lists."""

    @property
    def pk(self) -> Any: ...
    @property
    def terms(self) -> Any: ...
    @property
    def exclude_terms(self) -> Any: ...
    @property
    def categories(self) -> Any: ...
    @property
    def hf_keywords(self) -> Any: ...


def _terms(values: Iterable[str] | None) -> tuple[Term, ...]:
    # "long context" and "long-context" compile alike: keep one so it is not counted twice.
    unique: dict[tuple[str, ...], Term] = {}
    for term in filter(None, (compile_term(v) for v in values or [])):
        unique.setdefault(term.key, term)
    return tuple(unique.values())


def compile_rules(topic: RuleSource) -> CompiledRules:
    """Compile a topic's rules once, for matching many papers."""
    strong = _terms(topic.terms)
    weak = tuple(t for t in _terms(getattr(topic, "weak_terms", None)) if t not in strong)
    return CompiledRules(
        topic_id=topic.pk or 0,
        terms=strong,
        weak_terms=weak,
        excludes=_terms(topic.exclude_terms),
        categories=frozenset(c.strip().lower() for c in topic.categories or [] if c.strip()),
        hf_keywords=_terms(topic.hf_keywords),
    )


@dataclass(frozen=True)
class Hit:
    weight: float
    label: str
    kind: str  # "strong", "weak", "keyword" or "category"
    in_title: bool = False


@dataclass(frozen=True)
class Evidence:
    """What a topic's rules found in a paper: every hit, strongest first, or the veto."""

    hits: tuple[Hit, ...] = ()
    vetoed: str = ""

    @property
    def weight(self) -> float:
        return round(sum(h.weight for h in self.hits), 4)

    @property
    def matched(self) -> bool:
        """Whether the rules alone make a match (used for topics with nothing learned yet)."""
        return not self.vetoed and self.weight >= RULE_MATCH

    @property
    def labels(self) -> list[str]:
        return [h.label for h in self.hits]

    def count(self, kind: str, *, title: bool | None = None) -> int:
        return sum(1 for h in self.hits if h.kind == kind and (title is None or h.in_title == title))

    def features(self) -> list[float]:
        """The numbers the learned combiner weighs (see digest.catalog.matcher)."""
        return [
            float(min(self.count("strong", title=True), 2)),
            log1p(self.count("strong", title=False)),
            float(min(self.count("weak", title=True), 2)),
            log1p(self.count("weak", title=False)),
            float(min(self.count("keyword"), 2)),
            float(min(self.count("category"), 2)),
        ]


FEATURES = (
    "strong in title",
    "strong in abstract",
    "weak in title",
    "weak in abstract",
    "keyword",
    "category",
)
NO_EVIDENCE = Evidence()


def find_evidence(text: PaperText, rules: CompiledRules) -> Evidence:
    """Weigh every rule of one topic against one prepared paper."""
    for term in rules.excludes:
        if term.in_title(text) or term.in_abstract(text):
            return Evidence(vetoed=f'excluded by "{term.label}"')
    hits: list[Hit] = []
    for term, weak in rules.candidates(text):
        if (hit := _term_hit(text, term, weak=weak)) is not None:
            hits.append(hit)
    for term in rules.hf_keywords:
        if any(term.in_text(k) for k in text.keywords):
            hits.append(Hit(KEYWORD, f'keyword "{term.label}"', "keyword"))
    for category in sorted(rules.categories & text.categories):
        hits.append(Hit(CATEGORY, f"category {category}", "category"))
    if not hits:
        return NO_EVIDENCE
    hits.sort(key=lambda h: -h.weight)
    return Evidence(tuple(hits))


def _term_hit(text: PaperText, term: Term, *, weak: bool) -> Hit | None:
    kind, suffix = ("weak", " (weak)") if weak else ("strong", "")
    if term.in_title(text):
        if term.guards and term.guarded(text):
            return None
        return Hit(WEAK_TITLE if weak else STRONG_TITLE, f'title "{term.label}"{suffix}', kind, True)
    count = term.in_abstract(text)
    if not count or (term.guards and term.guarded(text)):
        return None
    weight = (WEAK_ABSTRACT if weak else STRONG_ABSTRACT) + REPEAT * min(count - 1, REPEAT_CAP)
    times = f" x{count}" if count > 1 else ""
    return Hit(round(weight, 4), f'abstract "{term.label}"{times}{suffix}', kind)


def rule_lists(topic: RuleSource) -> dict[str, list[str]]:
    """A topic's rules as plain lists, in RULE_KEYS order."""
    return {key: list(getattr(topic, key, None) or []) for key in RULE_KEYS}
