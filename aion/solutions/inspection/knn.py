"""Nearest-neighbour distance of patch features to the memory bank.

Two searches, both returning the Euclidean distance to the nearest bank row:

* ``exact``: brute force with BLAS matrix products (faiss ``IndexFlatL2`` when installed, else numpy).
* ``ivf`` (default for banks of :data:`IVF_MIN_BANK` rows or more): an inverted file in plain
  numpy. The bank is split by k-means into ``sqrt(N)/2`` lists; each query is compared with the
  rows of its ``nprobe`` nearest lists only (about a twentieth of the bank). The lists are built once
  at training time and stored in the model file, so training and the edge runtime search exactly
  alike, without faiss. The lists are scanned in the bank's principal subspace (``dim``
  directions, :func:`search_dim`), and the row found is then measured in every dimension: each
  distance is a true distance to a bank row, and a missed neighbour can only make it larger
  (image and pixel AUROC as with the full-width scan: ``docs/benchmarks.md``). Which list holds
  a query's best row is chosen on 8-bit products, near ties settled in float32, or all its probed
  lists scanned in float32, whichever this CPU runs faster (timed when the model is opened;
  ``listscan.py``).
  Large batches are split over the model's threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import listscan
from .listscan import ListScan, NumpyListScan, OrtListScan

#: Banks at least this large use the inverted file by default.
IVF_MIN_BANK = 1024

#: Queries per thread below which a search is not split over threads (one image has 1,024 patches
#: at 256 x 256, so even a single image is split in two).
SPLIT_ROWS = 512


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
    dim: int = 0  # lists scanned in the top ``dim`` principal directions of the bank (0: all)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)


#: Lists probed per query: one in :data:`PROBE_DIVISOR` of them, at least :data:`MIN_NPROBE`.
#: About 5% of the bank is scanned (3 of 62 lists for magnetic_tile's 15,462 rows): with the 2%
#: coreset this scans as many rows as the 1% bank's 5 of 44 lists did, and the larger bank gains
#: far more than the exactness lost (``docs/benchmarks.md``, tenth session).
MIN_NPROBE = 3
PROBE_DIVISOR = 20


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
    nprobe = min(n_lists, max(MIN_NPROBE, n_lists // PROBE_DIVISOR))
    return order, IvfLists(centroids.astype(np.float32), sizes, nprobe, search_dim(x))


#: Share of the bank's variance kept by the projection that the inverted lists are scanned in.
SEARCH_VARIANCE = 0.95


def search_dim(bank: np.ndarray, variance: float = SEARCH_VARIANCE) -> int:
    """Fewest principal directions (a multiple of 8) holding ``variance`` of the bank's variance;
    0 when that is not at least a quarter fewer than the feature width (no gain).

    >>> rng = np.random.default_rng(0)
    >>> low = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 64))  # rank 4 in 64 dimensions
    >>> search_dim(low.astype(np.float32)), search_dim(rng.normal(size=(500, 64)).astype(np.float32))
    (8, 0)
    """
    ev = np.linalg.eigvalsh(np.cov(bank.astype(np.float64), rowvar=False))[::-1]
    share = np.cumsum(ev) / max(float(ev.sum()), 1e-30)
    k = int(np.searchsorted(share, variance) + 1)
    k = -(-k // 8) * 8
    return k if k <= 0.75 * bank.shape[1] else 0


def principal_axes(bank: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and top ``dim`` principal directions ``(d, dim)`` of ``bank`` (float32)."""
    x = bank.astype(np.float64)
    mean = x.mean(0)
    _, vecs = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    axes = vecs[:, ::-1][:, :dim]
    axes = axes * np.where(axes[np.abs(axes).argmax(0), np.arange(dim)] < 0, -1.0, 1.0)  # fixed signs
    return mean.astype(np.float32), np.ascontiguousarray(axes, dtype=np.float32)


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
        use_ort: bool | None = None,
        passes: int | None = None,
    ) -> None:
        if passes not in (None, 1, 2):
            raise ValueError(f"passes must be 1, 2 or None (the faster, timed), not {passes!r}")
        self.bank = np.ascontiguousarray(bank, dtype=np.float32)
        self.ivf = ivf
        self._threads = max(1, threads or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._bank_sq = (self.bank * self.bank).sum(1)
        self._index: Any = None
        self._scan: ListScan | None = None  # the lists' scanner (ONNX Runtime, else numpy)
        if ivf is not None:
            if int(ivf.sizes.sum()) != len(self.bank):
                raise ValueError(
                    f"IVF lists cover {int(ivf.sizes.sum())} rows, the bank has {len(self.bank)}"
                )
            off = ivf.offsets
            # each list as [-2 * rows, |rows|^2]: one product with [query, 1] gives the squared
            # distance less |query|^2, with no element-wise pass over the (queries x rows) block
            axes: np.ndarray | None = None  # (d, dim): the projection into the scanned subspace
            rows, cents = self.bank, ivf.centroids
            if ivf.dim:
                # lists scanned in the principal subspace: |b - m|^2 - 2 (q - m)_s . (b - m)_s with
                # the dot product in ``dim`` directions; the best row found is then measured
                # exactly. The mean is folded into the lists (its part of the product is a
                # constant per row), so a query is only projected: [q @ axes, 1]
                mean, axes = principal_axes(self.bank, ivf.dim)
                mean_proj = mean @ axes
                rows, cents = self.bank - mean, ivf.centroids - mean
                rp, cp = rows @ axes, cents @ axes
                aug = _augment(rp, (rows * rows).sum(1) + 2.0 * (rp @ mean_proj))
                caug = _augment(cp, (cents * cents).sum(1) + 2.0 * (cp @ mean_proj))
            else:
                aug = _augment(rows, self._bank_sq)
                caug = _augment(cents, (cents * cents).sum(1))
            lists = [aug[off[i] : off[i + 1]] for i in range(len(ivf.sizes))]
            scanner = OrtListScan if use_ort is not False and listscan.available() else NumpyListScan
            self._scan = scanner(lists, off[:-1], caug, axes, ivf.nprobe)
            if passes is None:
                with single_thread_blas():  # as the search runs it
                    self._scan.choose(choice_sample(self.bank))
            else:
                self._scan.two_pass = passes == 2
            return
        faiss = _faiss() if use_faiss is not False else None
        if faiss is not None:
            if threads:
                faiss.omp_set_num_threads(threads)
            index = faiss.IndexFlatL2(self.bank.shape[1])
            index.add(self.bank)
            self._index = index

    def close(self) -> None:
        """Stop the search threads (started by the first large batch; a later one starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    @property
    def backend(self) -> str:
        return "ivf" if self.ivf is not None else "faiss" if self._index is not None else "numpy"

    @property
    def passes(self) -> int | None:
        """The lists' scan: 2 (an 8-bit pass, then float32), 1 (float32), ``None`` without lists."""
        if self._scan is None:
            return None
        return 2 if self._scan.two_pass else 1

    @property
    def scanner(self) -> str | None:
        """What scans the inverted lists: ``onnxruntime``, ``numpy``, or ``None`` without lists."""
        if self._scan is None:
            return None
        return "onnxruntime" if isinstance(self._scan, OrtListScan) else "numpy"

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
            parts = min(self._threads, len(q) // SPLIT_ROWS)
            if parts < 2:
                return self._search_ivf_lists(q)
            # query blocks on the model's threads: the products release the GIL
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="aion-knn")
            chunks = np.array_split(q, parts)
            return np.concatenate(list(self._pool.map(self._search_ivf_lists, chunks)))

    def _search_ivf_lists(self, q: np.ndarray) -> np.ndarray:
        """Each query's best row in the probed lists (``listscan.py``), measured exactly."""
        assert self._scan is not None
        arg, missed = self._scan.best_rows(q)
        if missed.any():
            arg[missed] = (self._bank_sq[None, :] - 2.0 * (q[missed] @ self.bank.T)).argmin(axis=1)
        diff = np.take(self.bank, arg, axis=0)  # the distance to the row found, in every dimension
        np.subtract(q, diff, out=diff)
        return np.einsum("ij,ij->i", diff, diff)


#: Queries of the sample on which a model's search times its two ways when opened.
CHOICE_ROWS = 1024


def choice_sample(bank: np.ndarray, rows: int = CHOICE_ROWS, seed: int = 0) -> np.ndarray:
    """Queries like a part's patches for :meth:`ListScan.choose`: ``rows`` bank rows (with
    repeats when the bank is smaller), each moved by noise of half the bank's spread per
    dimension so that it lies between rows as a new patch does.

    >>> bank = np.arange(12, dtype=np.float32).reshape(6, 2)
    >>> choice_sample(bank, rows=4).shape
    (4, 2)
    """
    rng = np.random.default_rng(seed)
    picked = bank[rng.integers(0, len(bank), rows)]
    noise = rng.normal(0.0, 0.5, picked.shape).astype(np.float32) * bank.std(axis=0)
    return np.ascontiguousarray(picked + noise, dtype=np.float32)


def nearest_excluding(
    groups: np.ndarray,
    bank: np.ndarray,
    owner: np.ndarray,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Distance of each row of each group ``(G, P, D)`` to its nearest ``bank`` row, leaving out
    the rows whose ``owner`` is that group's index (exact search): how a held-back image whose
    own patches partly joined the bank scores as if it were new.

    >>> bank = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]], np.float32)
    >>> groups = np.array([[[1.0, 0.0]], [[1.0, 0.0]]], np.float32)
    >>> nearest_excluding(groups, bank, np.array([-1, 0, 1])).round(4).tolist()
    [[1.0], [0.0]]
    """
    report = progress or (lambda fraction: None)
    rows = np.ascontiguousarray(bank, dtype=np.float32)
    rows_sq = (rows * rows).sum(1)
    out = np.empty(groups.shape[:2], dtype=np.float32)
    for i, q in enumerate(groups):
        out[i] = distances_excluding(q, rows, rows_sq, owner == i)
        report((i + 1) / len(groups))
    return out


def distances_excluding(q: np.ndarray, rows: np.ndarray, rows_sq: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Distance of each query row to its nearest row of ``rows`` (squared norms ``rows_sq``) less
    those ``own`` selects (a mask or indices), exactly.

    >>> rows = np.array([[0.0], [1.0], [5.0]], np.float32)
    >>> distances_excluding(np.ones((1, 1), np.float32), rows, (rows**2).sum(1), np.array([1])).tolist()
    [1.0]
    """
    d2 = rows_sq[None, :] - 2.0 * (q @ rows.T)
    d2[:, own] = np.inf
    return np.sqrt(np.maximum(d2.min(axis=1) + (q * q).sum(1), 0.0))  # type: ignore[no-any-return]


def _augment(rows: np.ndarray, sq: np.ndarray) -> np.ndarray:
    """``[-2 * rows, sq]`` as one contiguous float32 matrix ``(n, d + 1)``."""
    out = np.empty((len(rows), rows.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = -2.0 * rows
    out[:, -1] = sq
    return out
