"""The learned part of matching: TF-IDF over a paper's words and one linear model per topic.

Words and word pairs (1-2-grams, sublinear term frequency, the title counted twice) are
weighted by TF-IDF; each topic has a logistic regression trained on labelled papers (the
labelled set's `tune` and `train` parts and the editors' decisions). Its output is a log-odds that the
paper belongs to the topic; `digest.catalog.matcher` combines it with the rules' evidence.

A model is plain arrays (vocabulary, idf, one weight vector per topic), stored with numpy's
`.npz` format (no pickle), so it round-trips through the database and loads without training.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from digest.catalog.rules import PaperLike

if TYPE_CHECKING:  # scikit-learn and SciPy (~100 MB) load when a model is fitted or loaded
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

NGRAMS = (1, 2)
MIN_DF = 2
MAX_DF = 0.5
C = 64.0
MAX_ITER = 3000
SPACE_DIMENSIONS = 96
SPACE_SAMPLE = 8000  # labelled papers the latent space is fitted on, at most
SMALL_CORPUS = 20

FloatArray = NDArray[np.float64]


def paper_document(paper: PaperLike) -> str:
    """The text the model reads: title twice (it says most), then abstract and AI summary."""
    title = " ".join((paper.title or "").split())
    summary = getattr(paper, "ai_summary", "") or ""
    return f"{title}. {title}. {paper.abstract or ''} {summary}"


def _vectorizer(vocabulary: Mapping[str, int] | None = None, *, documents: int = 0) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    few = 0 < documents < SMALL_CORPUS  # too few documents for document-frequency cut-offs
    return TfidfVectorizer(
        ngram_range=NGRAMS,
        sublinear_tf=True,
        min_df=1 if few else MIN_DF,
        max_df=1.0 if few else MAX_DF,
        stop_words="english",
        vocabulary=vocabulary,
        dtype=np.float64,
    )


@dataclass
class TextModel:
    """A fitted vectorizer and, per topic slug, a weight vector and an intercept; `space` is a
    dense projection of the TF-IDF vectors (latent semantic analysis) where papers on the same
    subject lie close ("more like this", similar papers)."""

    vectorizer: TfidfVectorizer
    weights: dict[str, FloatArray]
    intercepts: dict[str, float]
    space: NDArray[np.float32] | None = None

    def embed(self, vectors: sparse.csr_matrix) -> NDArray[np.float32] | None:
        """Unit-length dense vectors of TF-IDF rows (None without a space)."""
        if self.space is None:
            return None
        dense = np.asarray(vectors @ self.space.T, dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        result: NDArray[np.float32] = (dense / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        return result

    @property
    def slugs(self) -> list[str]:
        return sorted(self.weights)

    def vectors(self, documents: Sequence[str]) -> sparse.csr_matrix:
        matrix: sparse.csr_matrix = self.vectorizer.transform(documents)
        return matrix

    def logits(self, vectors: sparse.csr_matrix, slug: str) -> FloatArray:
        """Log-odds that each row belongs to the topic (the model's decision function)."""
        result: FloatArray = vectors @ self.weights[slug] + self.intercepts[slug]
        return result

    def to_bytes(self) -> bytes:
        vocabulary = self.vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        slugs = self.slugs
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            meta=np.frombuffer(json.dumps({"terms": terms, "slugs": slugs}).encode(), dtype=np.uint8),
            idf=self.vectorizer.idf_.astype(np.float32),
            weights=np.array([self.weights[s] for s in slugs] or np.zeros((0, len(terms))), dtype=np.float32),
            intercepts=np.array([self.intercepts[s] for s in slugs], dtype=np.float64),
            space=np.zeros((0, len(terms)), dtype=np.float16)
            if self.space is None
            else self.space.astype(np.float16),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes().decode())
            vectorizer = _vectorizer({term: n for n, term in enumerate(meta["terms"])})
            vectorizer.idf_ = arrays["idf"].astype(np.float64)
            weights = arrays["weights"].astype(np.float64)
            intercepts = arrays["intercepts"]
            space = arrays["space"].astype(np.float32) if "space" in arrays else None
        return cls(
            vectorizer=vectorizer,
            weights={s: weights[n] for n, s in enumerate(meta["slugs"])},
            intercepts={s: float(intercepts[n]) for n, s in enumerate(meta["slugs"])},
            space=space if space is not None and space.size else None,
        )


def empty_model() -> TextModel:
    """A model that has learned no topic (its vocabulary is a placeholder)."""
    vectorizer = _vectorizer({"paperboy": 0})
    vectorizer.idf_ = np.ones(1)
    return TextModel(vectorizer=vectorizer, weights={}, intercepts={})


def fit_vectorizer(documents: Sequence[str]) -> tuple[TfidfVectorizer, sparse.csr_matrix]:
    vectorizer = _vectorizer(documents=len(documents))
    matrix: sparse.csr_matrix = vectorizer.fit_transform(documents)
    return vectorizer, matrix


def fit_space(vectors: sparse.csr_matrix) -> NDArray[np.float32] | None:
    """The latent-semantic projection of these TF-IDF rows (SPACE_DIMENSIONS components, fitted
    on at most SPACE_SAMPLE of them), or None when there are too few documents or words for one."""
    from sklearn.decomposition import TruncatedSVD

    dimensions = min(SPACE_DIMENSIONS, vectors.shape[0] - 1, vectors.shape[1] - 1)
    if dimensions < 2:
        return None
    if vectors.shape[0] > SPACE_SAMPLE:  # the directions settle long before every row is read
        rows = np.random.default_rng(0).choice(vectors.shape[0], SPACE_SAMPLE, replace=False)
        vectors = vectors[np.sort(rows)]
    svd = TruncatedSVD(n_components=dimensions, random_state=0, algorithm="randomized", n_iter=5)
    svd.fit(vectors)
    components: NDArray[np.float32] = svd.components_.astype(np.float32)
    return components


def to_vector_bytes(vector: NDArray[np.float32]) -> bytes:
    """A stored paper vector: float16, little-endian."""
    return vector.astype("<f2").tobytes()


def from_vector_bytes(data: bytes | memoryview) -> NDArray[np.float32]:
    return np.frombuffer(bytes(data), dtype="<f2").astype(np.float32)


def fit_topic(vectors: sparse.csr_matrix, labels: NDArray[np.bool_]) -> tuple[FloatArray, float]:
    """One topic's weights from labelled rows (both classes present; classes balanced)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, class_weight="balanced", max_iter=MAX_ITER, solver="liblinear")
    model.fit(vectors, labels)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])
