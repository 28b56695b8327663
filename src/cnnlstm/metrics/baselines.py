"""The rows every anomaly results table carries beside a detector: a random score, and the
absolute deviation from a moving median (a trivial detector a learned one must beat).

Example:
    >>> import numpy as np
    >>> x = np.zeros((9, 1)); x[4] = 5.0
    >>> moving_median_scores(x, window=3).round(1).tolist()
    [0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cnnlstm._validation import check_non_negative_int, check_positive_int

__all__ = ["moving_median_scores", "random_scores"]


def random_scores(length: int, *, seed: int = 0) -> NDArray[np.float64]:
    """Uniform random scores ``(length,)`` from ``seed``: what a detector that knows nothing gets."""
    return np.random.default_rng(check_non_negative_int("seed", seed)).random(
        check_positive_int("length", length)
    )


def moving_median_scores(values: ArrayLike, *, window: int = 25) -> NDArray[np.float64]:
    """``|x_t - median(x_{t-w/2} .. x_{t+w/2})|`` averaged over channels, for ``values`` ``(T, C)``
    (or ``(T,)``): ``(T,)``. The window is centred (edges repeat the end values)."""
    from scipy.ndimage import median_filter

    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    w = check_positive_int("window", window)
    median = median_filter(x, size=(w, 1), mode="nearest")
    return np.abs(x - median).mean(axis=1)
