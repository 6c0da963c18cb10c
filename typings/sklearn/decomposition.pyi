from typing import Any

import numpy as np
from numpy.typing import NDArray

class TruncatedSVD:
    components_: NDArray[np.float64]
    def __init__(
        self,
        n_components: int = ...,
        *,
        algorithm: str = ...,
        n_iter: int = ...,
        random_state: int | None = ...,
    ) -> None: ...
    def fit(self, X: Any, y: Any = ...) -> TruncatedSVD: ...
