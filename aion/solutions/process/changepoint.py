"""Changepoint detection for regime shifts: binary segmentation of the multivariate mean.

Each sensor is standardised by a noise scale estimated from first differences (robust to the shifts
themselves); a split is kept when it lowers the squared-error cost by more than ``penalty``
(default ``penalty_factor * d * log(n)``, a BIC-like rule).

>>> import numpy as np
>>> x = np.r_[np.zeros(100), np.full(100, 3.0)] + np.random.default_rng(0).normal(0, 0.3, 200)
>>> detect_changepoints(x.reshape(-1, 1))
[100]
"""

from __future__ import annotations

import numpy as np

from aion.solutions.process.detectors.base import as_matrix, impute


def _noise_scale(X: np.ndarray) -> np.ndarray:
    d = np.diff(X, axis=0)
    mad = 1.4826 * np.median(np.abs(d - np.median(d, axis=0)), axis=0) / np.sqrt(2.0)
    std = X.std(axis=0)
    return np.where(mad > 1e-9, mad, np.where(std > 1e-9, std, 1.0))


def _best_split(cs: np.ndarray, cs2: np.ndarray, a: int, b: int, min_size: int) -> tuple[int, float]:
    """Best split of rows ``[a, b)`` and its cost reduction, using prefix sums."""
    n = b - a
    if n < 2 * min_size:
        return -1, 0.0
    ks = np.arange(a + min_size, b - min_size + 1)
    total = cs[b] - cs[a]
    left = cs[ks] - cs[a]
    nl = (ks - a)[:, None].astype(np.float64)
    nr = n - nl
    gain = np.sum(left**2 / nl + (total - left) ** 2 / nr - total**2 / n, axis=1)
    i = int(np.argmax(gain))
    return int(ks[i]), float(gain[i])


def detect_changepoints(
    X: np.ndarray,
    penalty: float | None = None,
    penalty_factor: float = 3.0,
    min_size: int = 10,
    max_changepoints: int = 50,
) -> list[int]:
    """Rows where a new regime starts (sorted)."""
    arr = as_matrix(X)
    if arr.shape[0] < 2 * min_size:
        return []
    arr = impute(arr, np.nan_to_num(np.nanmedian(arr, axis=0)))
    Z = (arr - np.median(arr, axis=0)) / _noise_scale(arr)
    n, d = Z.shape
    pen = penalty if penalty is not None else penalty_factor * d * np.log(n)
    cs = np.vstack([np.zeros((1, d)), np.cumsum(Z, axis=0)])
    cs2 = np.concatenate([[0.0], np.cumsum(np.sum(Z**2, axis=1))])
    segments = [(0, n)]
    found: list[int] = []
    while segments and len(found) < max_changepoints:
        best = (-1, 0.0, -1)
        for si, (a, b) in enumerate(segments):
            k, g = _best_split(cs, cs2, a, b, min_size)
            if k > 0 and g > best[1]:
                best = (k, g, si)
        k, g, si = best
        if k < 0 or g <= pen:
            break
        a, b = segments.pop(si)
        segments += [(a, k), (k, b)]
        found.append(k)
    return sorted(found)
