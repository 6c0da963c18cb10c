"""Synthetic catalog and readers: popular topic sets shared by many readers (zipf), a long
tail of rare ones, several time zones. PostgreSQL gets COPY, other databases bulk_create;
rows stream in batches so memory stays flat whatever the number of readers."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.utils import timezone

from digest.daily.storage import on_postgresql
from digest.models import Paper, PaperTopic
from subscriptions.models import Subscriber, Topic

ZONES = (
    ("UTC", 20),
    ("Europe/Paris", 18),
    ("America/New_York", 18),
    ("America/Los_Angeles", 10),
    ("Asia/Kolkata", 10),
    ("Asia/Shanghai", 10),
    ("Asia/Tokyo", 8),
    ("Australia/Sydney", 6),
)
PAPERS_PER_EMAIL = ((10, 80), (5, 10), (20, 10))
WEEKLY_SHARE = 0.05
BATCH = 20_000
WORDS = [
    "diffusion", "transformer", "agent", "reasoning", "retrieval", "robot", "vision", "language",
    "speech", "graph", "sparse", "efficient", "scaling", "alignment", "benchmark", "dataset",
]  # fmt: skip


@dataclass(frozen=True)
class Spec:
    readers: int
    topics: int
    papers: int
    topics_per_reader: int = 3
    topic_sets: int = 2000
    seed: int = 42
    personal: float = 0.0  # share of readers with keywords, authors, excluded words or feedback


@dataclass
class Generated:
    readers: int = 0
    topics: int = 0
    papers: int = 0
    distinct_sets: int = 0
    personal: int = 0


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    """Weights of ranks 1..n under Zipf's law (rank r has weight 1 / r**s)."""
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


def topic_set_catalog(spec: Spec, topic_ids: list[int], rng: random.Random) -> list[str]:
    """Topic keys ("3,7,12") most popular first: sets drawn from zipf-popular topics."""
    k = min(spec.topics_per_reader, len(topic_ids))
    weights = zipf_weights(len(topic_ids), 0.8)
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < spec.topic_sets and attempts < spec.topic_sets * 50:
        attempts += 1
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(rng.choices(topic_ids, weights)[0])
        seen.setdefault(",".join(map(str, sorted(chosen))), None)
    return list(seen)


def _insert(model: type[models.Model], fields: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Stream rows into `model`'s table: COPY on PostgreSQL, bulk_create in batches elsewhere."""
    meta = model._meta
    count = 0
    if on_postgresql():
        # COPY fills no Django defaults: every other non-null column gets its field's default.
        defaults = [
            f
            for f in meta.concrete_fields
            if f.name not in fields and f.attname not in fields and not f.primary_key and not f.null
        ]
        names = [*fields, *(f.name for f in defaults)]
        extra = tuple(f.get_default() for f in defaults)
        json_at = [i for i, name in enumerate(names) if isinstance(meta.get_field(name), models.JSONField)]
        columns = ", ".join(_column(model, name) for name in names)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                row = (*row, *extra)
                if json_at:
                    row = tuple(
                        json.dumps(v) if i in json_at and v is not None else v for i, v in enumerate(row)
                    )
                copy.write_row(row)
                count += 1
        return count
    pending = iter(rows)
    while batch := list(itertools.islice(pending, BATCH)):
        model._default_manager.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in batch])
        count += len(batch)
    return count


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field.column


def make_topics(spec: Spec) -> list[int]:
    now = timezone.now()
    fields = ["name", "slug", "description", "terms", "exclude_terms", "categories", "hf_keywords"]
    fields += ["is_active", "position", "created_at", "updated_at"]
    rows: Iterator[tuple[Any, ...]] = (
        (f"Bench topic {n}", f"bench-topic-{n}", "", [WORDS[n % len(WORDS)]], [], [], [], True, n, now, now)
        for n in range(1, spec.topics + 1)
    )
    _insert(Topic, fields, rows)
    return list(Topic.objects.order_by("position").values_list("pk", flat=True))


def make_papers(spec: Spec, topic_ids: list[int], day: dt.date, rng: random.Random) -> None:
    """`spec.papers` papers listed on `day`, each matching 1 to 3 zipf-popular topics."""
    now = timezone.now()
    fields = ["paper_id", "title", "abstract", "authors", "listed_on", "source", "upvotes", "comments"]
    fields += ["ai_summary", "ai_keywords", "categories", "github_repo", "project_page", "thumbnail"]
    fields += ["withdrawn", "pinned", "hidden", "editor_note", "created_at", "updated_at", "github_stars"]
    fields += ["vector"]
    word_vectors = _word_vectors(rng)

    def papers() -> Iterator[tuple[Any, ...]]:
        for n in range(spec.papers):
            chosen = rng.sample(WORDS, 4)
            words = " ".join(chosen)
            yield (
                f"2599.{n:05d}", f"Bench paper {n}: {words}", f"We study {words}. Results improve.",
                [{"name": f"Author {n}-{a}"} for a in range(4)], day, Paper.Source.HF,
                int(rng.paretovariate(1.2) * 5), rng.randint(0, 20), f"A paper about {words}.",
                [], [], "", "", "", False, False, False, "", now, now, 0,
                _paper_vector(chosen, word_vectors, rng),
            )  # fmt: skip

    _insert(Paper, fields, papers())
    weights = zipf_weights(len(topic_ids), 0.8)
    paper_ids = list(Paper.objects.order_by("pk").values_list("pk", flat=True))

    def matches() -> Iterator[tuple[Any, ...]]:
        for paper_id in paper_ids:
            for topic_id in {rng.choices(topic_ids, weights)[0] for _ in range(rng.randint(1, 3))}:
                yield paper_id, topic_id, round(rng.uniform(0.3, 1.0), 3), "bench match", False, False, now

    _insert(
        PaperTopic, ["paper_id", "topic_id", "score", "reason", "manual", "excluded", "matched_at"], matches()
    )


VECTOR_DIMENSIONS = 96


def _word_vectors(rng: random.Random) -> dict[str, list[float]]:
    """A random direction per vocabulary word: papers sharing words lie close."""
    return {w: [rng.gauss(0.0, 1.0) for _ in range(VECTOR_DIMENSIONS)] for w in WORDS}


def _paper_vector(words: list[str], word_vectors: dict[str, list[float]], rng: random.Random) -> bytes:
    """Sum of the paper's word directions plus noise, unit length, float16 (as Paper.vector)."""
    raw = [sum(word_vectors[w][d] for w in words) + rng.gauss(0.0, 0.5) for d in range(VECTOR_DIMENSIONS)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return struct.pack(f"<{VECTOR_DIMENSIONS}e", *(x / norm for x in raw))


def personal_profile(rng: random.Random, papers: int) -> dict[str, list[Any]]:
    """Signals of one personal reader: keywords (word pairs, a few dozen papers each), followed
    authors (one paper each), excluded words (a quarter of the papers each) and feedback."""
    profile: dict[str, list[Any]] = {}
    while not profile:
        if rng.random() < 0.5:
            profile["keywords"] = [" ".join(rng.sample(WORDS, 2)) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            profile["authors"] = [
                f"Author {rng.randrange(papers)}-{rng.randrange(4)}" for _ in range(rng.randint(1, 2))
            ]
        if rng.random() < 0.3:
            profile["exclude_words"] = rng.sample(WORDS, rng.randint(1, 2))
        if rng.random() < 0.4:
            profile["more"] = [rng.randrange(papers) for _ in range(rng.randint(1, 5))]
            profile["less"] = [rng.randrange(papers) for _ in range(rng.randint(0, 2))]
    return profile


def make_readers(spec: Spec, keys: list[str], rng: random.Random, progress: Callable[[int], object]) -> int:
    """Active readers, confirmed, spread over zones; topic sets zipf-distributed over `keys`;
    `spec.personal` of them with their own signals (feedback refers to paper ids)."""
    now = timezone.now()
    set_weights = list(itertools.accumulate(zipf_weights(len(keys))))
    zone_weights = list(itertools.accumulate(w for _, w in ZONES))
    ppe_weights = list(itertools.accumulate(w for _, w in PAPERS_PER_EMAIL))
    fields = ["email", "token_key", "status", "topic_key", "frequency", "weekday", "delivery_hour"]
    fields += ["timezone", "papers_per_email", "consent_user_agent", "consent_form_version"]
    fields += ["consent_topics", "created_at", "updated_at", "confirmed_at", "unsubscribe_reason"]
    fields += ["soft_bounce_count", "keywords", "authors", "exclude_words", "profile"]
    paper_ids = list(Paper.objects.order_by("pk").values_list("pk", flat=True))

    def readers() -> Iterator[tuple[Any, ...]]:
        for n in range(spec.readers):
            if n and n % BATCH == 0:
                progress(BATCH)
            weekly = rng.random() < WEEKLY_SHARE
            profile = None
            if rng.random() < spec.personal:
                profile = personal_profile(rng, len(paper_ids))
                for key in ("more", "less"):
                    if key in profile:
                        profile[key] = [paper_ids[i] for i in profile[key]]
                profile = {k: v for k, v in profile.items() if v}
            yield (
                f"reader{n}@bench.example", uuid.UUID(int=rng.getrandbits(128), version=4),
                Subscriber.Status.ACTIVE, rng.choices(keys, cum_weights=set_weights)[0],
                "weekly" if weekly else "daily", rng.randint(0, 6), rng.randint(5, 9),
                rng.choices(ZONES, cum_weights=zone_weights)[0][0],
                rng.choices(PAPERS_PER_EMAIL, cum_weights=ppe_weights)[0][0],
                "", "bench", [], now, now, now, "", 0,
                (profile or {}).get("keywords", []), (profile or {}).get("authors", []),
                (profile or {}).get("exclude_words", []), profile,
            )  # fmt: skip
        progress(spec.readers % BATCH or BATCH)

    return _insert(Subscriber, fields, readers())


def generate(spec: Spec, *, day: dt.date, progress: Callable[[int], object] = lambda n: None) -> Generated:
    """Create topics, papers listed on `day`, their topic matches, and `spec.readers` readers."""
    rng = random.Random(spec.seed)  # noqa: S311 - synthetic data, not secrets
    topic_ids = make_topics(spec)
    make_papers(spec, topic_ids, day, rng)
    keys = topic_set_catalog(spec, topic_ids, rng)
    made = make_readers(spec, keys, rng, progress)
    if on_postgresql():  # fresh statistics, as autovacuum would give a real table
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    distinct = Subscriber.objects.order_by().values("topic_key").distinct().count()
    personal = Subscriber.objects.filter(profile__isnull=False).count()
    return Generated(
        readers=made, topics=len(topic_ids), papers=spec.papers, distinct_sets=distinct, personal=personal
    )
