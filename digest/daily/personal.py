"""Personal digests: a reader's own keywords, followed authors, excluded words and feedback.

Readers without any of these share editions (digest.daily.editions). For the others, a
`DayIndex` of the digest's listing days is built once per run, as arrays (one row a paper:
trending score, pin, vector), and answers every question by *distinct* phrase, not by reader:
which papers a keyword matches, which a followed author wrote, which an excluded word rules
out (each cached the first time a reader asks). A reader's list is then a few array
operations:

- candidates: their topics' ranked papers, the papers their keywords match and their followed
  authors' papers, minus excluded words and what they were sent recently;
- order: editor's picks first, then followed authors' papers, then the rest by trending score
  times (1 + LIKENESS * similarity), the similarity to the papers they wanted more of minus
  that to the papers they wanted less of, in the matcher's vector space;
- every paper says why it is there ("you follow Hedy Lamarr", "matches your keyword
  'KV cache'", "like papers you wanted more of").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from digest.catalog.rules import PaperText, compile_term
from digest.catalog.textmodel import from_vector_bytes
from digest.models import Paper
from subscriptions.interests import author_key

# How far likeness moves a paper: its trending score is multiplied by 1 + LIKENESS * similarity.
LIKENESS = 0.8
LESS_WEIGHT = 0.6  # the pull of "less like this" against "more like this"
LIKE_REASON_AT = 0.35  # similarity above which a paper says "like papers you wanted more of"
_LIKE_REASON = "like papers you wanted more of"
# Sort keys: a pin outranks everything, a followed author's paper every unfollowed one.
_PINNED, _FOLLOWED = 4e18, 2e18

Indexes = NDArray[np.int64]


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


@dataclass(frozen=True)
class _Words:
    title: str
    abstract: str
    ai_summary: str


@dataclass
class DayIndex:
    """Every visible paper of some listing days as rows: pk, trending score, pin, vector.

    Phrase and author lookups are cached per distinct phrase, so a run's cost grows with
    distinct phrases, not with readers."""

    ids: Indexes
    score: NDArray[np.float64]
    pinned: NDArray[np.bool_]
    vectors: NDArray[np.float32]
    papers: dict[int, Paper] = field(repr=False)
    row: dict[int, int] = field(repr=False)
    texts: list[PaperText] = field(repr=False)
    _authors: dict[str, list[int]] = field(repr=False)
    _phrases: dict[str, Indexes] = field(default_factory=dict, repr=False)
    _masks: dict[str, NDArray[np.bool_]] = field(default_factory=dict, repr=False)
    _sets: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, scored: Iterable[tuple[Paper, float, bool]]) -> DayIndex:
        """From (paper, trending score, pinned) of every visible paper of the days."""
        items = sorted(scored, key=lambda item: item[0].pk)
        papers = {paper.pk: paper for paper, _, _ in items}
        vectors = [from_vector_bytes(p.vector) if p.vector else None for p, _, _ in items]
        width = max((v.size for v in vectors if v is not None), default=0)
        matrix = np.zeros((len(items), width), dtype=np.float32)
        for n, vector in enumerate(vectors):
            if vector is not None and vector.size == width:
                matrix[n] = vector
        authors: dict[str, list[int]] = {}
        for n, (paper, _, _) in enumerate(items):
            for name in _author_names(paper.authors):
                authors.setdefault(author_key(name), []).append(n)
        return cls(
            ids=np.array([p.pk for p, _, _ in items], dtype=np.int64),
            score=np.array([s for _, s, _ in items], dtype=np.float64),
            pinned=np.array([pin for _, _, pin in items], dtype=bool),
            vectors=matrix,
            papers=papers,
            row={p.pk: n for n, (p, _, _) in enumerate(items)},
            texts=[PaperText(_Words(p.title, p.abstract, p.ai_summary)) for p, _, _ in items],
            _authors=authors,
        )

    def rows(self, paper_ids: Iterable[int]) -> Indexes:
        row = self.row
        return np.array([row[p] for p in paper_ids if p in row], dtype=np.int64)

    def matching(self, phrase: str) -> Indexes:
        """Rows whose title or abstract contains the phrase (topic-term rules), sorted."""
        key = phrase.casefold()
        found = self._phrases.get(key)
        if found is None:
            term = compile_term(phrase)
            hits = []
            if term is not None:
                needle = term.needle
                for n, text in enumerate(self.texts):
                    present = needle in text.title_lower or needle in text.abstract_lower
                    if present and (term.in_title(text) or term.in_abstract(text)):
                        hits.append(n)
            found = self._phrases[key] = np.array(hits, dtype=np.int64)
        return found

    def excluded(self, phrase: str) -> NDArray[np.bool_]:
        """A row mask of the papers the phrase rules out."""
        key = phrase.casefold()
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = np.zeros(len(self.ids), dtype=bool)
            mask[self.matching(phrase)] = True
        return mask

    def matching_set(self, phrase: str) -> frozenset[int]:
        key = phrase.casefold()
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = frozenset(self.matching(phrase).tolist())
        return found

    def by_author(self, name: str) -> list[int]:
        return self._authors.get(author_key(name), [])


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
        missing = wanted - self.index.row.keys() - self._extra.keys()
        if not missing:
            return
        width = self.index.vectors.shape[1]
        for pk, data in Paper.objects.filter(pk__in=missing).values_list("pk", "vector"):
            vector = from_vector_bytes(data) if data else None
            self._extra[pk] = vector if vector is not None and vector.size == width else None
        for pk in missing:
            self._extra.setdefault(pk, None)

    def _vectors(self, paper_ids: Sequence[int]) -> list[NDArray[np.float32]]:
        found = []
        for pk in paper_ids:
            row = self.index.row.get(pk)
            vector = self.index.vectors[row] if row is not None else self._extra.get(pk)
            if vector is not None and vector.any():
                found.append(vector)
        return found

    def taste(self, profile: Profile) -> NDArray[np.float32] | None:
        """Unit "more" direction minus LESS_WEIGHT * unit "less" direction (None: no signal)."""
        taste = None
        for ids, weight in ((profile.more, 1.0), (profile.less, -LESS_WEIGHT)):
            found = self._vectors(ids)
            if found:
                mean = np.add.reduce(found) / len(found)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    part = (weight / norm) * mean
                    taste = part if taste is None else taste + part
        return None if taste is None else taste.astype(np.float32)


@dataclass(frozen=True)
class PersonalPick:
    paper_ids: tuple[int, ...]
    reasons: dict[int, list[str]]


def pick_personal(
    *,
    index: DayIndex,
    likeness: Likeness,
    profile: Profile,
    topic_rows: Indexes,
    count: int,
    exclude: set[int],
) -> PersonalPick:
    """One reader's papers, best first, each with why it is there (see the module docstring)."""
    keyword_rows = [index.matching(k) for k in profile.keywords]
    author_rows = [np.array(index.by_author(a), dtype=np.int64) for a in profile.authors]
    rows = np.unique(np.concatenate([topic_rows, *keyword_rows, *author_rows]))
    if profile.exclude_words or exclude:
        barred = np.zeros(len(index.ids), dtype=bool)
        for word in profile.exclude_words:
            barred |= index.excluded(word)
        if exclude:
            barred[index.rows(exclude)] = True
        rows = rows[~barred[rows]]
    if not rows.size:
        return PersonalPick((), {})
    key = index.score[rows].copy()
    taste = likeness.taste(profile) if (profile.more or profile.less) else None
    similarity = index.vectors[rows] @ taste if taste is not None else None
    if similarity is not None:
        key *= 1.0 + LIKENESS * np.clip(similarity, -1.0, 1.0)
    followed = np.unique(np.concatenate(author_rows)) if author_rows else np.zeros(0, dtype=np.int64)
    key += np.where(np.isin(rows, followed), _FOLLOWED, 0.0) + np.where(index.pinned[rows], _PINNED, 0.0)
    order = np.argsort(-key, kind="stable")[:count]
    chosen = rows[order]
    reasons = _reasons(index, profile, chosen, None if similarity is None else similarity[order])
    return PersonalPick(tuple(index.ids[chosen].tolist()), reasons)


def _reasons(
    index: DayIndex, profile: Profile, chosen: Indexes, similarity: NDArray[np.float32] | None
) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    followed = {name: set(index.by_author(name)) for name in profile.authors}
    for n, row in enumerate(chosen.tolist()):
        why = [f"you follow {name}" for name, rows in followed.items() if row in rows]
        why += [f"matches your keyword “{k}”" for k in profile.keywords if row in index.matching_set(k)]
        if profile.more and similarity is not None and similarity[n] >= LIKE_REASON_AT:
            why.append(_LIKE_REASON)
        if why:
            reasons[int(index.ids[row])] = why
    return reasons
