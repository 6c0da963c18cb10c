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

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from digest.catalog.rules import PaperText, Term, compile_term, is_word, word_tokens
from digest.catalog.textmodel import from_vector_bytes
from digest.models import Paper
from subscriptions.interests import author_key

# How far likeness moves a paper: its trending score is multiplied by 1 + LIKENESS * similarity.
LIKENESS = 0.8
LESS_WEIGHT = 0.6  # the pull of "less like this" against "more like this"
LIKE_REASON_AT = 0.35  # similarity above which a paper says "like papers you wanted more of"
_LIKE_REASON = "like papers you wanted more of"

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


def _text_of(paper: Paper, texts: dict[int, PaperText]) -> PaperText:
    found = texts.get(paper.pk)
    if found is None:
        found = texts[paper.pk] = PaperText(_Words(paper.title, paper.abstract, paper.ai_summary))
    return found


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
    # Each row's place in the day's order (pinned first, then by score, then by row): a
    # reader without feedback gets the first rows of their candidates in this order.
    rank: list[int] = field(default_factory=list, repr=False)
    pinned_count: int = 0
    has_vector: list[bool] = field(default_factory=list, repr=False)  # a row's vector is not all zeros
    _phrases: dict[str, Indexes] = field(default_factory=dict, repr=False)
    _sets: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)
    _ranked: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _vocabulary: list[str] | None = field(default=None, repr=False)
    _word_rows: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _author_sets: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, scored: Iterable[tuple[Paper, float, bool]], *, texts: dict[int, PaperText] | None = None
    ) -> DayIndex:
        """From (paper, trending score, pinned) of every visible paper of the days; `texts`
        keeps each paper's text for matching once for every index of a run (pk → text)."""
        texts = {} if texts is None else texts
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
        score = np.array([s for _, s, _ in items], dtype=np.float64)
        pinned = np.array([pin for _, _, pin in items], dtype=bool)
        order = np.lexsort((np.arange(len(items)), -score, ~pinned))
        rank = np.empty(len(items), dtype=np.int64)
        rank[order] = np.arange(len(items))
        return cls(
            ids=np.array([p.pk for p, _, _ in items], dtype=np.int64),
            score=score,
            pinned=pinned,
            vectors=matrix,
            papers=papers,
            row={p.pk: n for n, (p, _, _) in enumerate(items)},
            texts=[_text_of(p, texts) for p, _, _ in items],
            _authors=authors,
            rank=rank.tolist(),
            pinned_count=int(pinned.sum()),
            has_vector=[bool(flag) for flag in np.any(matrix, axis=1).tolist()],
        )

    def rows(self, paper_ids: Iterable[int]) -> list[int]:
        row = self.row
        return [row[p] for p in paper_ids if p in row]

    def matching(self, phrase: str) -> Indexes:
        """Rows whose title or abstract contains the phrase (topic-term rules), sorted."""
        key = phrase.casefold()
        found = self._phrases.get(key)
        if found is None:
            term = compile_term(phrase)
            hits = []
            if term is not None:
                for n in self._candidates(term):
                    text = self.texts[n]
                    if term.in_title(text) or term.in_abstract(text):
                        hits.append(n)
            found = self._phrases[key] = np.array(hits, dtype=np.int64)
        return found

    def _candidates(self, term: Term) -> Iterable[int]:
        """Rows with a word that begins with the term's first word (from a word index built
        once), in row order; every row when that word is not a plain word."""
        needle = term.needle
        if not is_word(needle):
            return range(len(self.texts))
        if self._vocabulary is None:
            for n, text in enumerate(self.texts):
                for word in set(word_tokens(f"{text.title_lower} {text.abstract_lower}")):
                    self._word_rows.setdefault(word, []).append(n)
            self._vocabulary = sorted(self._word_rows)
        vocabulary, found = self._vocabulary, set()
        at = bisect_left(vocabulary, needle)
        while at < len(vocabulary) and vocabulary[at].startswith(needle):
            found.update(self._word_rows[vocabulary[at]])
            at += 1
        return sorted(found)

    def ranked(self, phrase: str) -> list[int]:
        """The phrase's rows in the day's order (see `rank`)."""
        key = phrase.casefold()
        found = self._ranked.get(key)
        if found is None:
            found = self._ranked[key] = sorted(self.matching(phrase).tolist(), key=self.rank.__getitem__)
        return found

    def matching_set(self, phrase: str) -> frozenset[int]:
        key = phrase.casefold()
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = frozenset(self.matching(phrase).tolist())
        return found

    def by_author(self, name: str) -> list[int]:
        return self._authors.get(author_key(name), [])

    def author_set(self, name: str) -> frozenset[int]:
        """by_author's rows as a set (cached per name as written)."""
        found = self._author_sets.get(name)
        if found is None:
            found = self._author_sets[name] = frozenset(self.by_author(name))
        return found


def _author_names(authors: Any) -> list[str]:
    names = [str(a.get("name", "")) if isinstance(a, dict) else str(a) for a in authors or []]
    return [n for n in names if n.strip()]


class Likeness:
    """Reader taste vectors from the papers they wanted more / less of. Vectors of papers
    outside the index are read from the database in one query per batch of readers, then kept;
    a batch's tastes are computed together (a few array operations for all its readers)."""

    def __init__(self, index: DayIndex) -> None:
        self.index = index
        # Papers outside the index looked up so far; those with a usable vector get a row of
        # `_extra_vectors` (their vector, by pk in `_extra_row`).
        self._looked_up: set[int] = set()
        self._extra_row: dict[int, int] = {}
        self._extra_vectors = np.zeros((0, index.vectors.shape[1]), dtype=np.float32)
        self._tastes: dict[tuple[tuple[int, ...], tuple[int, ...]], NDArray[np.float32] | None] = {}

    def load(self, profiles: Iterable[Profile]) -> None:
        """Read the vectors these readers' feedback needs, and compute their tastes (kept
        until the next batch)."""
        chosen = [p for p in profiles if p.more or p.less]
        wanted = {p for profile in chosen for p in (*profile.more, *profile.less)}
        missing = wanted - self.index.row.keys() - self._looked_up
        if missing:
            width = self.index.vectors.shape[1]
            found: list[NDArray[np.float32]] = []
            for pk, data in Paper.objects.filter(pk__in=missing).values_list("pk", "vector"):
                vector = from_vector_bytes(data) if data else None
                if vector is not None and vector.size == width and vector.any():
                    self._extra_row[pk] = len(self._extra_vectors) + len(found)
                    found.append(vector)
            if found:
                self._extra_vectors = np.vstack([self._extra_vectors, *found])
            self._looked_up |= missing
        self._tastes = self._batch(chosen)

    def _rows(self, paper_ids: Sequence[int]) -> list[int]:
        """Rows of these papers' non-zero vectors: in the index, or past its end, in the
        vectors read for papers outside it."""
        index, extra, past = self.index, self._extra_row, len(self.index.ids)
        rows = []
        for pk in paper_ids:
            row = index.row.get(pk)
            if row is not None:
                if index.has_vector[row]:
                    rows.append(row)
            elif pk in extra:
                rows.append(past + extra[pk])
        return rows

    def _gather(self, rows: list[int]) -> NDArray[np.float32]:
        """The vectors of these rows (see `_rows`)."""
        index = self.index
        at = np.array(rows, dtype=np.int64)
        inside = at < len(index.ids)
        if inside.all():
            return index.vectors[at]
        block = np.empty((len(rows), index.vectors.shape[1]), dtype=np.float32)
        block[inside] = index.vectors[at[inside]]
        block[~inside] = self._extra_vectors[at[~inside] - len(index.ids)]
        return block

    def _batch(
        self, profiles: Sequence[Profile]
    ) -> dict[tuple[tuple[int, ...], tuple[int, ...]], NDArray[np.float32] | None]:
        """Every profile's taste (see `taste`), computed for all of them at once, in the
        same float32 steps as one at a time."""
        if not profiles or not self.index.vectors.shape[1]:
            return {}
        keys = list({(p.more, p.less) for p in profiles})
        flat: list[int] = []
        starts: list[int] = []
        owners: list[int] = []  # the key number of each non-empty group
        counts: list[int] = []
        weights: list[float] = []
        for n, (more, less) in enumerate(keys):
            for ids, weight in ((more, 1.0), (less, -LESS_WEIGHT)):
                rows = self._rows(ids) if ids else []
                if rows:
                    starts.append(len(flat))
                    flat += rows
                    owners.append(n)
                    counts.append(len(rows))
                    weights.append(weight)
        tastes: list[NDArray[np.float32] | None] = [None] * len(keys)
        if flat:
            sums = np.add.reduceat(self._gather(flat), starts, axis=0)
            means = sums / np.array(counts, dtype=np.float32)[:, None]
            norms = np.sqrt(np.array([mean.dot(mean) for mean in means], dtype=np.float32))
            usable = norms > 0
            scale = (np.array(weights) / np.where(usable, norms, 1.0).astype(np.float64)).astype(np.float32)
            parts = means * scale[:, None]
            for n, part, ok in zip(owners, parts, usable.tolist(), strict=True):
                if ok:
                    current = tastes[n]
                    tastes[n] = part if current is None else current + part
        return dict(zip(keys, tastes, strict=True))

    def taste(self, profile: Profile) -> NDArray[np.float32] | None:
        """Unit "more" direction minus LESS_WEIGHT * unit "less" direction (None: no signal)."""
        key = (profile.more, profile.less)
        if key not in self._tastes:
            self._tastes.update(self._batch([profile]))
        return self._tastes.get(key)


@dataclass(frozen=True)
class PersonalPick:
    paper_ids: tuple[int, ...]
    reasons: dict[int, list[str]]


def pick_personal(
    *,
    index: DayIndex,
    likeness: Likeness,
    profile: Profile,
    topic_rows: Sequence[int],
    count: int,
    exclude: set[int],
) -> PersonalPick:
    """One reader's papers, best first, each with why it is there (see the module docstring).
    `topic_rows` are their topics' candidate rows in the day's order (DayIndex.rank)."""
    taste = likeness.taste(profile) if (profile.more or profile.less) else None
    candidates = _Candidates(index, profile, topic_rows, exclude)
    similarity = None
    if taste is None:
        rows = candidates.first(count)
    else:
        rows, similarity = candidates.blended(count, taste)
    paper_ids = index.ids[rows].tolist()
    return PersonalPick(tuple(paper_ids), _reasons(index, profile, rows.tolist(), paper_ids, similarity))


class _Candidates:
    """A reader's candidates, allowed ones only (no excluded word, not sent recently), in the
    day's order (DayIndex.rank: pinned, then by score): a lazy merge of their already-ordered
    lists (topics, each keyword, followed authors), so a pick reads only the first few."""

    def __init__(
        self, index: DayIndex, profile: Profile, topic_rows: Sequence[int], exclude: set[int]
    ) -> None:
        rank = self.rank = index.rank
        self.index = index
        followed = sorted(
            {r for name in profile.authors for r in index.by_author(name)}, key=rank.__getitem__
        )
        every = (topic_rows, *(index.ranked(k) for k in profile.keywords), followed)
        lists = [rows for rows in every if rows]
        barred = [index.matching_set(word) for word in profile.exclude_words]
        if exclude:
            barred.append(frozenset(index.row[p] for p in exclude if p in index.row))
        # Blocked rows: the biggest set as it is (an excluded word's can hold a quarter of the
        # day), the others joined (a copy of the small ones only).
        barred.sort(key=len)
        big = barred.pop() if barred else frozenset()
        small = frozenset().union(*barred)
        seen: set[int] = set()

        def allowed(rows: Iterable[int]) -> Iterator[int]:
            for row in rows:
                if row not in seen and row not in big and row not in small:
                    seen.add(row)
                    yield row

        merged = heapq.merge(*lists, key=rank.__getitem__) if len(lists) > 1 else itertools.chain(*lists)
        stream = allowed(merged)
        self.pinned: list[int] = []
        later: list[int] = []
        for row in stream:
            if rank[row] >= index.pinned_count:
                later.append(row)
                break
            self.pinned.append(row)
        self.wanted = {row for row in followed if row not in big and row not in small}
        # Followed authors' papers that are not pinned, in the day's order.
        self.followed = [row for row in followed if row in self.wanted and rank[row] >= index.pinned_count]
        # The rest (neither pinned nor followed), still lazy.
        wanted = self.wanted  # not `self` inside: the generator would keep this object in a cycle
        self.rest = (row for row in itertools.chain(later, stream) if row not in wanted)

    def first(self, count: int) -> Indexes:
        """Pinned (followed authors' first), followed authors' papers, then the rest."""
        pinned = sorted(self.pinned, key=lambda row: row not in self.wanted)  # stable
        chosen = pinned + self.followed
        chosen += itertools.islice(self.rest, max(count - len(chosen), 0))
        return np.array(chosen[:count], dtype=np.int64)

    def blended(self, count: int, taste: NDArray[np.float32]) -> tuple[Indexes, NDArray[np.float32]]:
        """The same tiers, each ordered by score * (1 + LIKENESS * similarity to the taste).
        The rest is read in score order only until no later paper can make the list: a
        paper's blended score is at most (1 + LIKENESS) times its score. One similarity
        product covers every row read; the few rows of each tier are then sorted in Python."""
        index = self.index
        fixed = self.pinned + self.followed
        need = max(count - len(fixed), 0)
        step = max(3 * need, 16)
        rows = list(fixed)
        blended: tuple[NDArray[np.float64], NDArray[np.float32]] | None = None  # of all of `rows`
        while need:
            batch = list(itertools.islice(self.rest, step))
            rows += batch
            if len(batch) < step:  # nothing after these
                break
            blended = _blend(index, np.array(rows, dtype=np.int64), taste)
            last = float(index.score[batch[-1]])
            bound = last * (1.0 + LIKENESS) if last >= 0 else last * (1.0 - LIKENESS)
            if float(np.partition(blended[0][len(fixed) :], -need)[-need]) >= bound:
                break
            blended = None
        keys, sims = _blend(index, np.array(rows, dtype=np.int64), taste) if blended is None else blended
        key, sim = keys.tolist(), sims.tolist()
        wanted, pinned = self.wanted, len(self.pinned)
        chosen: list[int] = []
        similarity: list[float] = []
        # Among pinned papers, followed authors' come first (the other tiers are one group each).
        tiers = (
            (0, pinned, count, True),
            (pinned, len(fixed), count, False),
            (len(fixed), len(rows), need, False),
        )
        for start, stop, room, split in tiers:
            room = min(room, count - len(chosen))
            if start == stop or room <= 0:
                continue
            ranked = sorted(
                (split and rows[n] not in wanted, -key[n], rows[n], n) for n in range(start, stop)
            )
            chosen += [row for _, _, row, _ in ranked[:room]]
            similarity += [sim[n] for _, _, _, n in ranked[:room]]
        return np.array(chosen, dtype=np.int64), np.array(similarity, dtype=np.float32)


def _blend(
    index: DayIndex, rows: Indexes, taste: NDArray[np.float32]
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """(blended score, similarity) of these rows."""
    similarity = index.vectors[rows] @ taste
    bounded = np.minimum(np.maximum(similarity, -1.0), 1.0)  # np.clip's result, less its overhead
    return index.score[rows] * (1.0 + LIKENESS * bounded), similarity


def _reasons(
    index: DayIndex,
    profile: Profile,
    chosen: Sequence[int],
    paper_ids: Sequence[int],
    similarity: NDArray[np.float32] | None,
) -> dict[int, list[str]]:
    """Why each chosen paper is there, by paper id (papers with no reason of their own left out)."""
    checks = [(f"you follow {name}", index.author_set(name)) for name in dict.fromkeys(profile.authors)]
    checks += [(f"matches your keyword “{k}”", index.matching_set(k)) for k in profile.keywords]
    liked = (similarity >= LIKE_REASON_AT).tolist() if profile.more and similarity is not None else None
    reasons: dict[int, list[str]] = {}
    for n, row in enumerate(chosen):
        why = [label for label, rows in checks if row in rows]
        if liked is not None and liked[n]:
            why.append(_LIKE_REASON)
        if why:
            reasons[paper_ids[n]] = why
    return reasons
