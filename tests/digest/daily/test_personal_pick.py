"""The personal pick reads only the head of a reader's candidates; these tests hold it to the
plain definition (rank every candidate, take the first N) on random days and readers, and the
day index's word index to a scan of every paper."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pytest

from digest.catalog.rules import PaperText, compile_term
from digest.catalog.textmodel import to_vector_bytes
from digest.daily.personal import LIKENESS, DayIndex, Likeness, Profile, pick_personal

WORDS = [
    "kv",
    "cache",
    "diffusion",
    "agent",
    "speech",
    "graph",
    "sparse",
    "vision",
    "robot",
    "kvcache",
    "c++",
]


@dataclass
class FakePaper:
    """What DayIndex.build reads of a paper."""

    pk: int
    title: str
    abstract: str
    authors: list[dict[str, str]] = field(default_factory=list)
    ai_summary: str = ""
    vector: bytes = b""


def make_day(rng: random.Random, size: int = 120) -> DayIndex:
    scored: list[tuple[Any, float, bool]] = []
    for pk in range(1, size + 1):
        words = rng.sample(WORDS, 3)
        raw = np.array([rng.gauss(0, 1) for _ in range(8)], dtype=np.float32)
        paper = FakePaper(
            pk=pk * 7,
            title=f"On {words[0]}-{words[1]}",
            abstract=f"We study {' '.join(words)}. Results hold.",
            authors=[{"name": f"Author {rng.randrange(30)}"}],
            vector=to_vector_bytes(raw / np.linalg.norm(raw)),
        )
        score = float(rng.choice([rng.uniform(0, 50), 10.0]))  # ties on purpose
        scored.append((paper, score, rng.random() < 0.05))
    return DayIndex.build(scored)


def reference(
    index: DayIndex,
    likeness: Likeness,
    profile: Profile,
    topic_rows: list[int],
    count: int,
    exclude: set[int],
) -> list[int]:
    """Every candidate ranked: pinned first (followed authors' first among them), then followed
    authors' papers, then the rest, each by blended score, then by row."""
    followed = {r for name in profile.authors for r in index.by_author(name)}
    rows = set(topic_rows) | followed
    for keyword in profile.keywords:
        rows |= set(index.matching(keyword).tolist())
    barred = {index.row[p] for p in exclude if p in index.row}
    for word in profile.exclude_words:
        barred |= set(index.matching(word).tolist())
    taste = likeness.taste(profile)
    ranked = []
    for row in rows - barred:
        similarity = float(index.vectors[row] @ taste) if taste is not None else 0.0
        key = index.score[row] * (1.0 + LIKENESS * max(-1.0, min(1.0, similarity)))
        tier = (0 if row in followed else 1) if index.pinned[row] else (2 if row in followed else 3)
        ranked.append((tier, -key, row))
    return [int(index.ids[row]) for _, _, row in sorted(ranked)[:count]]


@pytest.mark.parametrize("seed", range(40))
def test_the_pick_is_the_head_of_every_candidate_ranked(seed):
    rng = random.Random(seed)
    index = make_day(rng)
    likeness = Likeness(index)
    topic_rows = sorted(rng.sample(range(len(index.ids)), 25), key=index.rank.__getitem__)
    profile = Profile(
        keywords=tuple(rng.sample(["kv cache", "speech", "robot", "graph"], rng.randint(0, 2))),
        authors=tuple(f"Author {n}" for n in rng.sample(range(30), rng.randint(0, 2))),
        exclude_words=tuple(rng.sample(["vision", "sparse"], rng.randint(0, 1))),
        more=tuple(int(p) for p in rng.sample(list(index.ids), rng.randint(0, 3))),
        less=tuple(int(p) for p in rng.sample(list(index.ids), rng.randint(0, 2))),
    )
    exclude = {int(p) for p in rng.sample(list(index.ids), rng.randint(0, 5))}
    count = rng.choice([5, 10, 20])

    pick = pick_personal(
        index=index, likeness=likeness, profile=profile, topic_rows=topic_rows, count=count, exclude=exclude
    )

    assert list(pick.paper_ids) == reference(index, likeness, profile, topic_rows, count, exclude)


def test_a_phrase_found_through_the_word_index_is_found_by_scanning_every_paper():
    index = make_day(random.Random(7), size=200)
    for phrase in ["kv cache", "kv*", "cache", "speech", "graph + robot", "KV", "robots", "c++", "cache-kv"]:
        term = compile_term(phrase)
        assert term is not None
        scanned = [n for n, text in enumerate(index.texts) if term.in_title(text) or term.in_abstract(text)]
        assert index.matching(phrase).tolist() == scanned, phrase
    # "kv cache" also finds the glued spelling, which begins with its first word
    glued = [n for n, t in enumerate(index.texts) if "kvcache" in t.abstract_lower]
    assert glued
    assert set(glued) <= set(index.matching("kv cache").tolist())


def test_text_of_a_day_paper_is_what_topic_terms_see():
    paper = FakePaper(pk=1, title="KV-cache  compression", abstract="Less memory.")
    index = DayIndex.build([(cast(Any, paper), 1.0, False)])
    assert index.texts[0].title == PaperText(paper).title


def one_taste(more: list[np.ndarray], less: list[np.ndarray], less_weight: float) -> np.ndarray | None:
    """A reader's taste computed alone, step by step in float32: the unit mean of the "more"
    vectors minus `less_weight` times the unit mean of the "less" ones."""
    taste = None
    for found, weight in ((more, 1.0), (less, -less_weight)):
        if found:
            mean = np.add.reduce(found) / len(found)
            norm = float(np.sqrt(mean.dot(mean)))
            part = (weight / norm) * mean
            taste = part if taste is None else taste + part
    return taste


@pytest.mark.django_db
def test_tastes_computed_for_a_batch_are_each_readers_more_minus_less_directions():
    """Likeness.load computes a chunk's tastes together; each must be what the reader's taste
    is alone, to the bit (a tie or the "like papers you wanted more of" cut must not move):
    papers without a vector left out, papers outside the day read from the database."""
    from digest.daily.personal import LESS_WEIGHT
    from tests.factories import PaperFactory

    index = make_day(random.Random(3), size=40)
    index.vectors[5] = 0.0  # a day paper without a vector
    index.has_vector[5] = False
    raw = np.arange(1, 9, dtype=np.float32)
    outside = raw / np.float32(np.linalg.norm(raw))
    older = PaperFactory(vector=to_vector_bytes(outside))  # feedback on a paper of another day
    while older.pk in index.row:  # the fake day's ids are multiples of 7
        older = PaperFactory(vector=to_vector_bytes(outside))
    stored = np.frombuffer(to_vector_bytes(outside), dtype="<f2").astype(np.float32)
    ids = [int(p) for p in index.ids]

    def vector(pk: int) -> np.ndarray:
        return stored if pk == older.pk else index.vectors[index.row[pk]]

    profiles = [
        Profile(more=(ids[0], ids[1]), less=(ids[2],)),
        Profile(more=(ids[3], older.pk)),
        Profile(less=(ids[4],)),
        Profile(more=(ids[7], ids[5]), less=(ids[8], ids[9], ids[10])),
        Profile(more=(ids[5],)),  # only a paper without a vector: no taste
        Profile(keywords=("kv",)),  # no feedback: no taste
    ]
    likeness = Likeness(index)
    likeness.load(profiles)

    expected = [
        one_taste([vector(ids[0]), vector(ids[1])], [vector(ids[2])], LESS_WEIGHT),
        one_taste([vector(ids[3]), vector(older.pk)], [], LESS_WEIGHT),
        one_taste([], [vector(ids[4])], LESS_WEIGHT),
        one_taste([vector(ids[7])], [vector(ids[8]), vector(ids[9]), vector(ids[10])], LESS_WEIGHT),
    ]
    for profile, wanted in zip(profiles, expected, strict=False):
        taste = likeness.taste(profile)
        assert taste is not None
        assert wanted is not None
        np.testing.assert_array_equal(taste, wanted)
    assert likeness.taste(profiles[4]) is None
    assert likeness.taste(profiles[5]) is None
    # A profile the batch did not hold is computed on its own, the same way.
    alone = likeness.taste(Profile(more=(ids[6], ids[11])))
    assert alone is not None
    np.testing.assert_array_equal(alone, one_taste([vector(ids[6]), vector(ids[11])], [], LESS_WEIGHT))
