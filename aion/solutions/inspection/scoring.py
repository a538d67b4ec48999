"""Image scores from anomaly maps: the mean of the map's highest pixels, and several such
statistics pooled over growing shares of the map, each standardised on good images.

One statistic (the mean of the highest 1% of the map, a common PatchCore variant) answers "is
there a small, strongly abnormal spot"; it misses a part whose whole surface, or a large region
of it, is moderately off (a wrong finish, an uneven area). :func:`pooled_scores` takes the mean
of the highest ``f`` of the map for several ``f`` (by default 1%, 10% and all of it) and
:func:`combined_scores` standardises each on the held-back good images of training (their mean
and standard deviation) and keeps the largest: an image is as abnormal as its most abnormal
statistic, in units of the good images' own spread. No statistic is weighted by hand, so the
defaults do not depend on the part (``docs/inspection.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Every this many pixels of a map give the floor above which the top fraction is sought.
_SCORE_STRIDE = 16


def image_scores(maps: np.ndarray, top_fraction: float) -> np.ndarray:
    """Image score of each map ``(N, H, W)``: the mean of its highest ``top_fraction`` of pixels
    (at least one pixel), or its maximum when ``top_fraction`` is 0.

    The k-th highest value of every 16th pixel is a floor with at least k pixels above it, so
    only the pixels above it are partitioned (about a sixteenth of the map; same values).

    >>> m = np.zeros((1, 10, 10), np.float32); m[0, 0, :3] = [9.0, 3.0, 3.0]
    >>> image_scores(m, 0.0).tolist(), image_scores(m, 0.03).tolist()
    ([9.0], [5.0])
    >>> big = np.random.default_rng(0).random((2, 64, 64), dtype=np.float32)
    >>> top = np.sort(big.reshape(2, -1), axis=1)[:, -41:].mean(axis=1)
    >>> bool(np.allclose(image_scores(big, 0.01), top, rtol=1e-6))
    True
    """
    flat = maps.reshape(len(maps), -1)
    k = max(1, int(round(top_fraction * flat.shape[1]))) if top_fraction > 0 else 1
    if k == 1:
        return flat.max(axis=1)
    sample = flat[:, ::_SCORE_STRIDE]
    if k > sample.shape[1] // 2:  # small maps: partition every pixel
        top = np.partition(flat, flat.shape[1] - k, axis=1)[:, -k:]
        return top.mean(axis=1, dtype=np.float64).astype(np.float32)
    floor = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
    out = np.empty(len(flat), dtype=np.float32)
    for i, row in enumerate(flat):
        above = row[row >= floor[i]]  # at least k values: the sample's top k are among them
        out[i] = np.partition(above, len(above) - k)[-k:].mean(dtype=np.float64)
    return out


#: Statistics over more than this many pixels are taken on every ``_POOL_STEP``-th pixel of every
#: ``_POOL_STEP``-th row: the map is smooth (Gaussian sigma 4 px), so they barely change, and a
#: partition of a sixteenth of the pixels is cheap.
_POOL_PIXELS = 2048
_POOL_STEP = 4


def pooled_scores(maps: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """``(N, F)``: for each map ``(N, H, W)`` and each fraction, the mean of its highest share of
    pixels (1 or more: the whole map's mean; 0: its maximum).

    >>> m = np.zeros((1, 64, 64), np.float32); m[0, :8, :8] = 1.0  # 64 of 4,096 pixels
    >>> [round(float(x), 4) for x in pooled_scores(m, [0.01, 0.5, 1.0])[0]]
    [1.0, 0.0312, 0.0156]
    """
    n = maps.shape[1] * maps.shape[2]
    coarse: np.ndarray | None = None
    cols = []
    for f in fractions:
        if f >= 1.0:
            cols.append(maps.reshape(len(maps), -1).mean(axis=1))  # float32, pairwise summation
        elif f * n <= _POOL_PIXELS:
            cols.append(image_scores(maps, f))
        else:
            if coarse is None:
                coarse = np.ascontiguousarray(maps[:, ::_POOL_STEP, ::_POOL_STEP])
            cols.append(image_scores(coarse, f))
    return np.stack(cols, axis=1)


def standardised(pooled: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(pooled - mean) / std`` per statistic (``mean`` and ``std`` measured on good images)."""
    z = (pooled - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    return z.astype(np.float32)


def combined_scores(pooled: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """The largest standardised statistic of each row of :func:`pooled_scores`: ``max_f (s_f -
    mean_f) / std_f``, with ``mean`` and ``std`` measured on good images.

    >>> combined_scores(np.array([[1.0, 0.5], [3.0, 0.2]]), [1.0, 0.2], [0.5, 0.1]).tolist()
    [3.0, 4.0]
    """
    return standardised(pooled, mean, std).max(axis=1)


def statistic_names(fractions: Sequence[float]) -> list[str]:
    """Names of the pooled statistics, as reports show them.

    >>> statistic_names([0.01, 0.1, 1.0])
    ['top_1%', 'top_10%', 'whole_map']
    """
    return ["whole_map" if f >= 1.0 else "max" if f <= 0 else f"top_{f * 100:g}%" for f in fractions]


def good_statistics(pooled: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of each statistic over good images' :func:`pooled_scores`
    (the deviation floored at a millionth of the mean's size, so that no statistic divides by 0)."""
    mean = pooled.mean(axis=0, dtype=np.float64)
    std = np.maximum(pooled.std(axis=0, dtype=np.float64), 1e-6 * np.abs(mean) + 1e-12)
    return [float(x) for x in mean], [float(x) for x in std]
