"""Similar papers: nearest neighbours in the matcher's vector space (Paper.vector, written when a
paper is matched; see digest.catalog.textmodel), among the papers of the last WINDOW_DAYS days.

The recent papers' vectors are kept in memory for REFRESH_SECONDS per process (one query to
load them), so a page or an API call costs one matrix-vector product.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.utils import timezone
from numpy.typing import NDArray

from digest.catalog.textmodel import from_vector_bytes
from digest.models import Paper

WINDOW_DAYS = 180
REFRESH_SECONDS = 300
SHOWN = 5


@dataclass(frozen=True)
class Neighbours:
    ids: NDArray[np.int64]
    vectors: NDArray[np.float32]
    loaded_at: float


class _Recent:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: Neighbours | None = None

    def get(self) -> Neighbours:
        with self._lock:
            value = self._value
            if value is None or time.monotonic() - value.loaded_at > REFRESH_SECONDS:
                value = self._value = _load()
            return value

    def clear(self) -> None:
        with self._lock:
            self._value = None


def _load() -> Neighbours:
    since = timezone.now().date() - dt.timedelta(days=WINDOW_DAYS)
    rows = (
        Paper.objects.filter(listed_on__gte=since, hidden=False, withdrawn=False, vector__isnull=False)
        .order_by("pk")
        .values_list("pk", "vector")
    )
    ids, vectors = [], []
    for pk, data in rows:
        vector = from_vector_bytes(data or b"")
        if vector.size:
            ids.append(pk)
            vectors.append(vector)
    if not vectors:
        return Neighbours(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), time.monotonic())
    width = max(v.size for v in vectors)
    matrix = np.zeros((len(vectors), width), dtype=np.float32)
    for n, v in enumerate(vectors):
        matrix[n, : v.size] = v
    return Neighbours(np.array(ids, dtype=np.int64), matrix, time.monotonic())


recent = _Recent()


def similar_papers(paper: Paper, *, limit: int = SHOWN) -> list[tuple[Paper, float]]:
    """Up to `limit` recent papers nearest to `paper`, with their cosine similarity, best first."""
    if not paper.vector:
        return []
    vector = from_vector_bytes(paper.vector)
    known = recent.get()
    if not known.ids.size or known.vectors.shape[1] != vector.size:
        return []
    scores = known.vectors @ vector
    scores[known.ids == paper.pk] = -np.inf
    top = np.argsort(-scores)[: limit * 2]
    chosen = [(int(known.ids[n]), float(scores[n])) for n in top if np.isfinite(scores[n])]
    found = Paper.objects.filter(pk__in=[pk for pk, _ in chosen], hidden=False, withdrawn=False).in_bulk()
    return [(found[pk], round(score, 4)) for pk, score in chosen if pk in found][:limit]
