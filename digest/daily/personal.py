"""Personal digests: a reader's own keywords, followed authors, excluded words and feedback.

Readers without any of these share editions (digest.daily.editions). For the others, a
`DayIndex` of the digest's listing days is built once per run and answers every question by
*distinct* phrase, not by reader: which papers a keyword matches, which a followed author
wrote, which an excluded word rules out (each cached the first time a reader asks). A reader's
list is then a few set operations and one small vector product:

- candidates: their topics' ranked papers, the papers their keywords match and their followed
  authors' papers, minus excluded words and what they were sent recently;
- order: editor's picks first, then followed authors' papers, then the rest by trending score
  times (1 + LIKENESS * similarity), the similarity to the papers they wanted more of minus
  that to the papers they wanted less of, in the matcher's vector space;
- every paper says why it is there ("you follow Hedy Lamarr", "matches your keyword
  'KV cache'", "like papers you wanted more of").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from digest.catalog.ranking import ranked_papers
from digest.catalog.rules import PaperText, Term, compile_term
from digest.catalog.textmodel import from_vector_bytes
from digest.models import Paper
from subscriptions.interests import author_key

# How far likeness moves a paper: its trending score is multiplied by 1 + LIKENESS * similarity.
LIKENESS = 0.8
LESS_WEIGHT = 0.6  # the pull of "less like this" against "more like this"
LIKE_REASON_AT = 0.35  # similarity above which a paper says "like papers you wanted more of"
_LIKE_REASON = "like papers you wanted more of"


@dataclass(frozen=True)
class Profile:
    """A reader's personal signals, as Subscriber.profile stores them."""

    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()
    more: tuple[int, ...] = ()
    less: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Profile:
        data = data or {}

        def texts(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in data.get(key) or () if isinstance(v, str) and v.strip())

        def ids(key: str) -> tuple[int, ...]:
            return tuple(int(v) for v in data.get(key) or () if isinstance(v, int))

        return cls(texts("keywords"), texts("authors"), texts("exclude_words"), ids("more"), ids("less"))

    @property
    def empty(self) -> bool:
        return not (self.keywords or self.authors or self.exclude_words or self.more or self.less)


@dataclass
class DayIndex:
    """Every visible paper of some listing days, scored, searchable by phrase and author.

    Built from one ranked_papers call (three queries); phrase and author lookups are cached
    per distinct phrase, so a run's cost grows with distinct phrases, not with readers."""

    papers: dict[int, Paper]
    score: dict[int, float]
    pinned: set[int]
    texts: dict[int, PaperText] = field(repr=False)
    authors: dict[str, set[int]] = field(repr=False)
    vectors: dict[int, NDArray[np.float32]] = field(repr=False)
    _phrases: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, *, days: Sequence[dt.date], now: dt.datetime) -> DayIndex:
        ranked = ranked_papers(days=days, now=now, lean=True) if days else []
        papers: dict[int, Paper] = {}
        score: dict[int, float] = {}
        pinned: set[int] = set()
        texts: dict[int, PaperText] = {}
        authors: dict[str, set[int]] = {}
        vectors: dict[int, NDArray[np.float32]] = {}
        for item in ranked:
            paper = item.paper
            papers[paper.pk] = paper
            score[paper.pk] = item.score
            if item.pinned:
                pinned.add(paper.pk)
            texts[paper.pk] = PaperText(paper)
            for name in _author_names(paper.authors):
                authors.setdefault(author_key(name), set()).add(paper.pk)
            if paper.vector:
                vectors[paper.pk] = from_vector_bytes(paper.vector)
            del paper.ranked_matches, paper.latest_snapshots  # type: ignore[attr-defined]
        return cls(papers, score, pinned, texts, authors, vectors)

    def matching(self, phrase: str) -> frozenset[int]:
        """Papers whose title or abstract contains the phrase (topic-term rules)."""
        key = phrase.casefold()
        if key not in self._phrases:
            term = compile_term(phrase)
            self._phrases[key] = frozenset(_matches(term, self.texts)) if term else frozenset()
        return self._phrases[key]

    def by_author(self, name: str) -> frozenset[int]:
        return frozenset(self.authors.get(author_key(name), ()))


def _matches(term: Term, texts: Mapping[int, PaperText]) -> Iterable[int]:
    needle = term.needle
    for paper_id, text in texts.items():
        present = needle in text.title_lower or needle in text.abstract_lower
        if present and (term.in_title(text) or term.in_abstract(text)):
            yield paper_id


def _author_names(authors: Any) -> list[str]:
    names = [str(a.get("name", "")) if isinstance(a, dict) else str(a) for a in authors or []]
    return [n for n in names if n.strip()]


class Likeness:
    """Reader taste vectors from the papers they wanted more / less of. Vectors of papers
    outside the index are read from the database in one query per batch of readers, then kept."""

    def __init__(self, index: DayIndex) -> None:
        self.index = index
        self._extra: dict[int, NDArray[np.float32] | None] = {}

    def load(self, profiles: Iterable[Profile]) -> None:
        wanted = {p for profile in profiles for p in (*profile.more, *profile.less)}
        missing = wanted - self.index.vectors.keys() - self._extra.keys()
        if not missing:
            return
        for pk, data in Paper.objects.filter(pk__in=missing).values_list("pk", "vector"):
            self._extra[pk] = from_vector_bytes(data) if data else None
        for pk in missing:
            self._extra.setdefault(pk, None)

    def _vector(self, paper_id: int) -> NDArray[np.float32] | None:
        found = self.index.vectors.get(paper_id)
        return found if found is not None else self._extra.get(paper_id)

    def taste(self, profile: Profile) -> NDArray[np.float32] | None:
        """Unit "more" direction minus LESS_WEIGHT * unit "less" direction (None: no signal)."""
        parts = []
        for ids, weight in ((profile.more, 1.0), (profile.less, -LESS_WEIGHT)):
            found = [v for v in map(self._vector, ids) if v is not None]
            if found:
                mean = np.mean(found, axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    parts.append(weight * mean / norm)
        if not parts:
            return None
        taste: NDArray[np.float32] = np.sum(parts, axis=0).astype(np.float32)
        return taste


@dataclass(frozen=True)
class PersonalPick:
    paper_ids: tuple[int, ...]
    reasons: dict[int, list[str]]


def pick_personal(
    *,
    index: DayIndex,
    likeness: Likeness,
    profile: Profile,
    topic_candidates: Sequence[int],
    count: int,
    exclude: set[int],
) -> PersonalPick:
    """One reader's papers, best first, each with why it is there (see the module docstring)."""
    reasons: dict[int, list[str]] = {}
    followed: set[int] = set()
    for name in profile.authors:
        for pid in index.by_author(name):
            followed.add(pid)
            reasons.setdefault(pid, []).append(f"you follow {name}")
    for keyword in profile.keywords:
        for pid in index.matching(keyword):
            reasons.setdefault(pid, []).append(f"matches your keyword “{keyword}”")
    barred = set(exclude)
    for word in profile.exclude_words:
        barred |= index.matching(word)
    pool = [pid for pid in dict.fromkeys([*topic_candidates, *reasons]) if pid in index.score]
    pool = [pid for pid in pool if pid not in barred]
    taste = likeness.taste(profile)
    similarity = _similarities(index, pool, taste)
    ranked = sorted(
        pool,
        key=lambda pid: (
            pid not in index.pinned,
            pid not in followed,
            -index.score[pid] * (1.0 + LIKENESS * similarity.get(pid, 0.0)),
            pid,
        ),
    )[:count]
    for pid in ranked:
        if profile.more and similarity.get(pid, 0.0) >= LIKE_REASON_AT:
            reasons.setdefault(pid, []).append(_LIKE_REASON)
    return PersonalPick(tuple(ranked), {pid: reasons[pid] for pid in ranked if pid in reasons})


def _similarities(
    index: DayIndex, pool: Sequence[int], taste: NDArray[np.float32] | None
) -> dict[int, float]:
    if taste is None:
        return {}
    with_vectors = [pid for pid in pool if pid in index.vectors]
    if not with_vectors:
        return {}
    matrix = np.stack([index.vectors[pid] for pid in with_vectors])
    values = matrix @ taste
    return dict(zip(with_vectors, np.clip(values, -1.0, 1.0).tolist(), strict=True))
