"""Greedy (k-center) coreset selection that stays fast on hundreds of thousands of patches.

The classic greedy k-center loop updates the distance of *every* point to the new center at
each of the ``k`` steps: ``k`` memory-bound passes over an ``(N, d)`` array, which is what
stalls on 2,000 training images. Here the same greedy choices are made lazily:

1. keep the current min-distance ``D`` of every point to the chosen set;
2. take the ``T`` points with the largest ``D`` as candidates and remember ``tau``, the
   largest ``D`` outside them;
3. keep choosing the farthest candidate (updating only the ``T`` candidates) while its
   distance is still ``>= tau``: since distances only shrink, no outside point can beat it,
   so each choice is exactly the one the classic loop makes;
4. then update ``D`` against the new centers by matrix products, only for the points the
   triangle inequality cannot rule out (Elkan's bound: a new center ``c`` cannot beat a point's
   current center ``a`` when ``|a - c| >= 2 |p - a|``), and repeat. The update runs in blocks of
   8,192 points whose distances to the new centers stay in the CPU's cache, spread over the
   training's threads (magnetic_tile's 773,120 patches to 15,462: 112 s -> 38 s on 2 cores).

Features more than twice as wide as ``proj_dim`` (e.g. WideResNet-50's 1,536 channels) are first
reduced by a random Gaussian projection to ``proj_dim`` (as in PatchCore, for speed); narrower ones
(EfficientNet-Lite0's 152) are used as they are: the projection would save little time, and the
exact distances chose better banks (casting image AUROC 0.961 -> 0.973 over four seeds;
``docs/benchmarks.md``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

Progress = Callable[[str, float], None]


def _sq_dist_to(x: np.ndarray, sq: np.ndarray, centers: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Min squared distance of every row of ``x`` to ``centers`` (chunked matrix products)."""
    out = np.empty(len(x), dtype=np.float32)
    csq = (centers * centers).sum(1)
    for s in range(0, len(x), chunk):
        block = x[s : s + chunk]
        d = sq[s : s + chunk, None] - 2.0 * (block @ centers.T) + csq[None, :]
        out[s : s + chunk] = d.min(axis=1)
    np.maximum(out, 0.0, out=out)
    return out


def greedy_coreset(
    features: np.ndarray,
    k: int,
    *,
    proj_dim: int = 128,
    n_candidates: int = 8192,
    max_batch: int = 512,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Indices of ``k`` rows of ``features`` chosen by greedy k-center selection (``threads``:
    CPU threads for the distance updates; ``None``: all the CPU's).

    >>> rng = np.random.default_rng(0)
    >>> pts = np.concatenate([rng.normal(0, 0.01, (50, 2)), [[5.0, 5.0]]]).astype(np.float32)
    >>> idx = greedy_coreset(pts, 2)
    >>> 50 in idx.tolist()   # the far outlier is always kept
    True
    """
    n = len(features)
    if k >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    n_threads = max(1, threads or os.cpu_count() or 1)
    x = np.ascontiguousarray(features, dtype=np.float32)
    if x.shape[1] > 2 * proj_dim:
        proj = rng.normal(0.0, 1.0 / np.sqrt(proj_dim), (x.shape[1], proj_dim)).astype(np.float32)
        x = x @ proj
    sq = (x * x).sum(1)
    first = int(rng.integers(n))
    centers = np.empty((k, x.shape[1]), dtype=np.float32)
    centers[0] = x[first]
    selected = [first]
    dist = _sq_dist_to(x, sq, x[[first]])
    dist[first] = 0.0
    assign = np.zeros(n, dtype=np.int64)  # index (into ``selected``) of each point's nearest center
    t = min(n_candidates, n - 1)
    while len(selected) < k:
        cand = np.argpartition(dist, n - t)[n - t :]
        outside = np.ones(n, dtype=bool)
        outside[cand] = False
        tau = float(dist[outside].max()) if outside.any() else -1.0
        dc = dist[cand].copy()
        xc = x[cand]
        sqc = sq[cand]
        new: list[int] = []
        with _single_thread_blas():  # many small products: threads only add contention
            _pick(dc, xc, sqc, x, sq, cand, tau, k - len(selected), max_batch, new)
        _update(x, sq, dist, assign, centers, len(selected), np.asarray(new), n_threads)
        selected.extend(new)
        if progress is not None:
            progress("coreset", len(selected) / k)
    return np.asarray(selected[:k])


def _single_thread_blas() -> contextlib.AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _pick(
    dc: np.ndarray,
    xc: np.ndarray,
    sqc: np.ndarray,
    x: np.ndarray,
    sq: np.ndarray,
    cand: np.ndarray,
    tau: float,
    remaining: int,
    max_batch: int,
    new: list[int],
) -> None:
    """Greedy choices among the candidates while they provably match the global greedy choice."""
    while len(new) < remaining and len(new) < max_batch:
        j = int(np.argmax(dc))
        if dc[j] < tau and new:
            break
        c = int(cand[j])
        new.append(c)
        d = sqc - 2.0 * (xc @ x[c]) + sq[c]
        np.minimum(dc, np.maximum(d, 0.0), out=dc)
        dc[j] = 0.0


def _update(
    x: np.ndarray,
    sq: np.ndarray,
    dist: np.ndarray,
    assign: np.ndarray,
    centers: np.ndarray,
    n_old: int,
    new: np.ndarray,
    threads: int = 1,
    chunk: int = 8192,
) -> None:
    """Lower ``dist``/``assign`` with the ``new`` centers, skipping points the triangle inequality
    rules out: a new center ``c`` cannot be closer to ``p`` than ``p``'s center ``a`` when
    ``|a - c| >= 2 |p - a|``. The remaining points go in blocks of ``chunk`` rows (each block's
    ``rows x new`` distances stay in the CPU's cache) on ``threads`` threads."""
    xn = x[new]
    centers[n_old : n_old + len(new)] = xn
    old = centers[:n_old]
    cc = (old * old).sum(1)[:, None] - 2.0 * (old @ xn.T) + (xn * xn).sum(1)[None, :]
    reach = np.sqrt(np.maximum(cc.min(axis=1), 0.0))  # distance from each old center to the nearest new one
    idx = np.nonzero(reach[assign] < 2.0 * np.sqrt(dist))[0]
    w = np.ascontiguousarray(-2.0 * xn.T)  # p @ w + |c|^2 = |p - c|^2 - |p|^2
    nsq = (xn * xn).sum(1)

    def block(s: int) -> None:
        rows = idx[s : s + chunk]
        d = x[rows] @ w
        d += nsq
        best = d.argmin(axis=1)
        dmin = d[np.arange(len(rows)), best]
        dmin += sq[rows]
        np.maximum(dmin, 0.0, out=dmin)
        closer = dmin < dist[rows]
        dist[rows[closer]] = dmin[closer]  # blocks hold distinct rows: no two threads write one
        assign[rows[closer]] = n_old + best[closer]

    starts = range(0, len(idx), chunk)
    with _single_thread_blas():
        if threads > 1 and len(idx) > chunk:
            with ThreadPoolExecutor(threads, thread_name_prefix="aion-coreset") as pool:
                list(pool.map(block, starts))  # numpy releases the interpreter lock
        else:
            for s in starts:
                block(s)
    dist[new] = 0.0
    assign[new] = n_old + np.arange(len(new))
