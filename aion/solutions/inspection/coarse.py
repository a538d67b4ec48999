"""Coarse-to-fine nearest-neighbour search over the patch grid.

The search is the largest cost of scoring beside the backbone. Neighbouring patches' features
overlap (each is a 3 x 3 mean of the backbone's), so their distances to the memory bank change
slowly across the grid except at a defect. With ``stride`` 2 a model searches the patches of
every other row and column (a quarter of them), fills the rest by bilinear interpolation, and
then searches exactly every patch whose bracketing searched patches include one farther from
the bank than ``level``: the top ``1 - refine_quantile`` of the held-back good images' patch
distances (so a defect, and the good surface around it, is measured; the plain good surface is
interpolated, where the map is low and smoothed anyway).

Training applies the same rule to the held-back images' exact distances (:func:`emulate`), so the
threshold and the score statistics are set on maps made as new parts' are. ``stride`` 1 searches
every patch (models before format 8).

On magnetic_tile and casting (docs/benchmarks.md, fourteenth session) a third of the patches is
searched, at the same image and pixel AUROC.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Upsampling rule of the searched values to the whole grid: mean (interpolation) or maximum.
Op = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) * np.float32(0.5)


def upsample(coarse: np.ndarray, g: int, op: Op = _mean) -> np.ndarray:
    """Values at the even rows and columns of a ``g x g`` grid, ``(N, ceil(g / 2), ceil(g / 2))``,
    -> ``(N, g, g)``: each other cell ``op`` of the two (or four) searched cells around it
    (the last row and column of an even grid copy the one before).

    >>> upsample(np.array([[[0.0, 2.0], [4.0, 6.0]]], np.float32), 4)[0].tolist()
    [[0.0, 1.0, 2.0, 2.0], [2.0, 3.0, 4.0, 4.0], [4.0, 5.0, 6.0, 6.0], [4.0, 5.0, 6.0, 6.0]]
    >>> upsample(np.array([[[0.0, 2.0], [4.0, 6.0]]], np.float32), 3, np.maximum)[0].tolist()
    [[0.0, 2.0, 2.0], [4.0, 6.0, 6.0], [4.0, 6.0, 6.0]]
    """
    j = np.arange(g)
    lo = j // 2
    hi = np.minimum((j + 1) // 2, coarse.shape[1] - 1)
    rows = op(coarse[:, lo, :], coarse[:, hi, :])
    return np.ascontiguousarray(op(rows[:, :, lo], rows[:, :, hi]), dtype=np.float32)


def searched(g: int) -> np.ndarray:
    """``(g, g)`` bool: the cells the coarse pass searches (even row and even column).

    >>> searched(3).astype(int).tolist()
    [[1, 0, 1], [0, 0, 0], [1, 0, 1]]
    """
    on = np.arange(g) % 2 == 0
    return on[:, None] & on[None, :]


def fill(
    coarse: np.ndarray, g: int, level: float, skip: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The coarse pass's values upsampled to ``(N, g, g)``, and the cells still to search exactly:
    those not searched whose bracketing searched cells include one above ``level``, less the
    ``skip`` cells ``(g, g)`` (whose scores never count: an inspection area's ignore boxes)."""
    values = upsample(coarse, g)
    refine = (upsample(coarse, g, np.maximum) > level) & ~searched(g)
    if skip is not None:
        refine &= ~skip
    return values, refine


def search_grid(
    search: Callable[[np.ndarray], np.ndarray],
    feats: np.ndarray,
    level: float,
    skip: np.ndarray | None = None,
) -> np.ndarray:
    """Distances of ``(N, g, g, D)`` patch features with ``search`` (rows ``(M, D)`` -> ``(M,)``),
    coarse to fine; the ``skip`` cells ``(g, g)`` are never searched exactly (:func:`fill`).

    >>> f = np.zeros((1, 4, 4, 1), np.float32); f[0, 1, 1, 0] = 5.0; f[0, 3, 3, 0] = 0.5
    >>> search_grid(lambda q: np.abs(q[:, 0]), f, level=0.1)[0].tolist()  # nothing above 0.1 nearby
    [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    >>> f[0, 2, 2, 0] = 1.0  # a searched cell above the level: its neighbours are measured
    >>> search_grid(lambda q: np.abs(q[:, 0]), f, level=0.1)[0].tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.5]]
    >>> skip = np.zeros((4, 4), bool); skip[1] = True  # row 1 ignored: interpolated, not measured
    >>> search_grid(lambda q: np.abs(q[:, 0]), f, 0.1, skip)[0, 1].tolist()
    [0.0, 0.25, 0.5, 0.5]
    """
    n, g, _, d = feats.shape
    coarse = search(np.ascontiguousarray(feats[:, ::2, ::2]).reshape(-1, d)).reshape(n, (g + 1) // 2, -1)
    values, refine = fill(coarse, g, level, skip)
    if refine.any():
        values[refine] = search(feats[refine])
    return values


def emulate(exact: np.ndarray, level: float, skip: np.ndarray | None = None) -> np.ndarray:
    """What :func:`search_grid` gives for patches whose exact distances ``(N, g, g)`` are known
    (the held-back images in training): the same cells measured, the others interpolated.

    >>> e = np.array([[[0.0, 9.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 4.0]]], np.float32)
    >>> emulate(e, level=3.0)[0].tolist()  # the 9 lies between searched cells below the level
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 4.0]]
    >>> e[0, 0, 2] = 5.0  # now one of them is above it
    >>> emulate(e, level=3.0)[0].tolist()
    [[0.0, 9.0, 5.0], [0.0, 1.0, 0.0], [0.0, 0.0, 4.0]]
    """
    g = exact.shape[1]
    values, refine = fill(exact[:, ::2, ::2], g, level, skip)
    values[refine] = exact[refine]
    return values
