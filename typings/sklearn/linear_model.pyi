from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

class LogisticRegression:
    coef_: NDArray[np.float64]
    intercept_: NDArray[np.float64]
    def __init__(
        self,
        *,
        C: float = ...,
        class_weight: Literal["balanced"] | dict[Any, float] | None = ...,
        max_iter: int = ...,
        solver: str = ...,
    ) -> None: ...
    def fit(self, X: Any, y: ArrayLike) -> LogisticRegression: ...
    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...
    def decision_function(self, X: Any) -> NDArray[np.float64]: ...
