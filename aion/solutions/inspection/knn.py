"""Nearest-neighbour distance of patch features to the memory bank.

Two searches, both returning the Euclidean distance to the nearest bank row:

* ``exact``: brute force with BLAS matrix products (faiss ``IndexFlatL2`` when installed, else numpy).
* ``ivf`` (default for banks of :data:`IVF_MIN_BANK` rows or more): an inverted file in plain
  numpy. The bank is split by k-means into ``sqrt(N)/2`` lists; each query is compared with the
  rows of its ``nprobe`` nearest lists only (about a tenth of the bank). The lists are built once
  at training time and stored in the model file, so training and the edge runtime search exactly
  alike, without faiss. A missed neighbour can only make a distance larger, and on real patch
  features more than 99% of the distances come out exact (``bench/inspection_bench.py``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Banks at least this large use the inverted file by default.
IVF_MIN_BANK = 1024


def _faiss() -> Any | None:
    try:
        import faiss
    except ImportError:  # pragma: no cover - the edge runtime may lack faiss
        return None
    return faiss


_CONTROLLER: Any = None


def single_thread_blas() -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to one thread inside the block (no-op without threadpoolctl, e.g. on the edge)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:  # pragma: no cover
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")  # type: ignore[no-any-return]


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (x * x).sum(1)[:, None] - 2.0 * (x @ c.T) + (c * c).sum(1)[None, :]


@dataclass(frozen=True)
class IvfLists:
    """Inverted-file structure: ``centroids`` and the size of each list of the (sorted) bank."""

    centroids: np.ndarray  # (L, d) float32
    sizes: np.ndarray  # (L,) int64, rows of the sorted bank per list
    nprobe: int

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)


def build_ivf(bank: np.ndarray, seed: int = 0, iterations: int = 12) -> tuple[np.ndarray, IvfLists]:
    """k-means lists over ``bank``: returns the row order that makes lists contiguous, and the lists.

    >>> rng = np.random.default_rng(0)
    >>> bank = rng.normal(size=(2000, 8)).astype(np.float32)
    >>> order, ivf = build_ivf(bank)
    >>> int(ivf.sizes.sum()), len(ivf.centroids), sorted(order.tolist()) == list(range(2000))
    (2000, 22, True)
    """
    x = np.ascontiguousarray(bank, dtype=np.float32)
    n = len(x)
    n_lists = max(4, int(round(np.sqrt(n) / 2)))
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(n, n_lists, replace=False)].copy()
    for _ in range(iterations):
        assign = _sq_dists(x, centroids).argmin(1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, x)
        counts = np.bincount(assign, minlength=n_lists)
        full = counts > 0
        centroids[full] = sums[full] / counts[full, None]
        if not full.all():  # re-seed empty lists on the rows farthest from their centroid
            far = np.argsort(-_sq_dists(x, centroids)[np.arange(n), assign])[: int((~full).sum())]
            centroids[~full] = x[far]
    assign = _sq_dists(x, centroids).argmin(1)
    order = np.argsort(assign, kind="stable")
    sizes = np.bincount(assign, minlength=n_lists).astype(np.int64)
    nprobe = min(n_lists, max(4, n_lists // 8))
    return order, IvfLists(centroids.astype(np.float32), sizes, nprobe)


class NearestNeighbour:
    """Distance from each query row to its nearest row of ``bank``.

    With ``ivf`` the bank must be sorted by list (see :func:`build_ivf`).

    >>> nn = NearestNeighbour(np.array([[0.0, 0.0], [3.0, 4.0]], dtype=np.float32))
    >>> nn.search(np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)).round(4).tolist()
    [0.0, 1.0]
    """

    def __init__(
        self,
        bank: np.ndarray,
        threads: int | None = None,
        use_faiss: bool | None = None,
        ivf: IvfLists | None = None,
    ) -> None:
        self.bank = np.ascontiguousarray(bank, dtype=np.float32)
        self.ivf = ivf
        self._bank_sq = (self.bank * self.bank).sum(1)
        self._index: Any = None
        if ivf is not None:
            if int(ivf.sizes.sum()) != len(self.bank):
                raise ValueError(
                    f"IVF lists cover {int(ivf.sizes.sum())} rows, the bank has {len(self.bank)}"
                )
            off = ivf.offsets
            self._lists = [
                (self.bank[off[i] : off[i + 1]], self._bank_sq[off[i] : off[i + 1]])
                for i in range(len(ivf.sizes))
            ]
            self._csq = (ivf.centroids * ivf.centroids).sum(1)
            return
        faiss = _faiss() if use_faiss is not False else None
        if faiss is not None:
            if threads:
                faiss.omp_set_num_threads(threads)
            index = faiss.IndexFlatL2(self.bank.shape[1])
            index.add(self.bank)
            self._index = index

    @property
    def backend(self) -> str:
        return "ivf" if self.ivf is not None else "faiss" if self._index is not None else "numpy"

    def search(self, queries: np.ndarray) -> np.ndarray:
        """Euclidean distance to the nearest bank row, float32, one value per query row."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self.ivf is not None:
            d2 = self._search_ivf(q)
        elif self._index is not None:
            d2 = self._index.search(q, 1)[0][:, 0]
        else:
            d2 = np.empty(len(q), dtype=np.float32)
            qsq = (q * q).sum(1)
            for s in range(0, len(q), 4096):
                block = q[s : s + 4096]
                dist = (self._bank_sq[None, :] - 2.0 * (block @ self.bank.T)).min(axis=1)
                d2[s : s + 4096] = dist + qsq[s : s + 4096]
        return np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)

    def _search_ivf(self, q: np.ndarray) -> np.ndarray:
        # many small products: BLAS threads only add overhead (measured: 6x more CPU time with 2)
        with single_thread_blas():
            return self._search_ivf_lists(q)

    def _search_ivf_lists(self, q: np.ndarray) -> np.ndarray:
        assert self.ivf is not None
        m, p = len(q), self.ivf.nprobe
        cd = self._csq[None, :] - 2.0 * (q @ self.ivf.centroids.T)
        probe = np.argpartition(cd, p - 1, axis=1)[:, :p].ravel() if p < cd.shape[1] else None
        if probe is None:
            probe = np.tile(np.arange(cd.shape[1]), m)
        rows = np.repeat(np.arange(m), p)
        order = np.argsort(probe, kind="stable")
        ends = np.cumsum(np.bincount(probe, minlength=len(self._lists)))
        best = np.full(m, np.inf, dtype=np.float32)
        start = 0
        for (members, msq), end in zip(self._lists, ends, strict=True):
            if end > start and len(members):
                qi = rows[order[start:end]]
                d = (msq[None, :] - 2.0 * (q[qi] @ members.T)).min(axis=1)
                best[qi] = np.minimum(best[qi], d)
            start = end
        missed = ~np.isfinite(best)  # only when every probed list is empty: search all
        if missed.any():
            best[missed] = (self._bank_sq[None, :] - 2.0 * (q[missed] @ self.bank.T)).min(axis=1)
        return best + (q * q).sum(1)
