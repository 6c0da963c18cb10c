from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

class TfidfVectorizer:
    vocabulary_: dict[str, int]
    idf_: NDArray[np.float64]
    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = ...,
        sublinear_tf: bool = ...,
        min_df: float | int = ...,
        max_df: float | int = ...,
        stop_words: str | list[str] | None = ...,
        vocabulary: Mapping[str, int] | None = ...,
        dtype: Any = ...,
    ) -> None: ...
    def fit(self, raw_documents: Iterable[str]) -> TfidfVectorizer: ...
    def fit_transform(self, raw_documents: Iterable[str]) -> sparse.csr_matrix: ...
    def transform(self, raw_documents: Iterable[str]) -> sparse.csr_matrix: ...
