"""The scan of the inverted lists for :class:`~.knn.NearestNeighbour`: for each query, the bank
row with the smallest estimated distance among the rows of its ``nprobe`` nearest lists.

Each list is held as ``[-2 * rows, |rows|^2]`` (width ``k + 1``, ``k`` the scanned dimensions), so
that one product with ``[query, 1]`` gives the squared distance less ``|query|^2``. Two passes:

1. **Which list.** Each (query, probed list) pair's smallest estimate, from 8-bit products: the
   queries of a batch are quantised to 8 bits (ONNX ``DynamicQuantizeLinear``'s arithmetic) and
   every row to 7 bits with its own scale; the integer products run at about 3.5 times the rate
   of float32 ones (VNNI instructions where the CPU has them; 7-bit rows keep the 16-bit sums of
   CPUs without them from saturating). The ``|rows|^2`` term stays float.
2. **Which row.** In float32, each query's best list by the estimates, and its second best on a
   near tie (estimates within :data:`RERANK_MARGIN` rounding units): the ``argmin`` of their
   blocks.

The caller then measures the row found in every dimension, so each distance is a true distance
to a bank row; the 8-bit estimates only choose which lists to measure (on magnetic_tile 0.04% of
the queries end in another row than a float32 scan finds; without the near-tie rule 2.5%:
``docs/benchmarks.md``).

The first pass saves float32 work (the probed lists become one or two) but costs a graph run and
numpy steps of its own. Which wins depends on the CPU and the search's shape: the two passes were
faster on the AMD EPYC where they were introduced (an eighth of the lists probed, every patch
searched); on an Intel Xeon with AVX-512, with a twentieth probed and a third of the patches
searched, scanning every probed list in float32 at once is (a batch of 8 images' search 1.34 ->
1.02 ms per image). So :meth:`ListScan.choose` times both on queries made from the bank's rows
when a model is opened and keeps the faster; the one pass finds exactly a float32 scan's rows.

Two scanners do the same arithmetic. :class:`OrtListScan` runs each pass as one ONNX graph
(``listgraphs.py``; one branch per list: ``Gather``, the product, and ``ReduceMin`` in the first
pass), built from the lists when a model is opened (0.04-0.1 s; it needs the ``onnx`` package): a graph run releases the
interpreter lock, so the model's threads scan at once. :class:`NumpyListScan` is the fallback,
one product per list from Python. The query codes are made in numpy for both, and the integer
products are exact in float32 (``|sum| < 2^24``), so both find the same rows. Grouping the pairs by
list (a radix sort) stays in numpy between the passes.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from .listgraphs import project_graph, scan_min_graph, scan_rows_graph, session

#: A query's second-best list (by the 8-bit estimates) is measured in float32 too when its
#: estimate is within this many :meth:`ListScan.rounding` units of the best's: near ties are
#: settled in float32, so the rounding alone moves no query to another list's row (magnetic_tile:
#: 27% of the queries measure two lists, and none of the others has its float32 best list second).
RERANK_MARGIN = 2.0

#: Largest code of a quantised row (7 bits: ``u8 x s8`` pair sums stay below 2^15).
ROW_LEVELS = 63


def available() -> bool:
    """Whether the ``onnx`` and ``onnxruntime`` packages can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:  # pragma: no cover - both are dependencies of the package
        return False
    return True


class QuantisedList(NamedTuple):
    """A list's ``-2 * rows`` as 7-bit codes ``(k, n)`` with one scale per row, and ``|rows|^2``."""

    codes: np.ndarray  # (k, n) int8
    scales: np.ndarray  # (n,) float32
    bias: np.ndarray  # (n,) float32


def quantise_list(aug: np.ndarray) -> QuantisedList:
    """``[-2 * rows, |rows|^2]`` ``(n, k + 1)`` -> :class:`QuantisedList`.

    >>> q = quantise_list(np.array([[-2.0, 0.5, 5.0], [0.0, 0.0, 0.0]], np.float32))
    >>> q.codes.T.tolist(), [round(float(s), 4) for s in q.scales], q.bias.tolist()
    ([[-63, 16], [0, 0]], [0.0317, 1.0], [5.0, 0.0])
    """
    part = aug[:, :-1]
    scales = (np.abs(part).max(axis=1) / ROW_LEVELS).astype(np.float32)
    scales[scales == 0] = 1.0
    codes = np.rint(part / scales[:, None]).astype(np.int8)
    return QuantisedList(np.ascontiguousarray(codes.T), scales, np.ascontiguousarray(aug[:, -1]))


def quantise_queries(x: np.ndarray) -> tuple[np.ndarray, np.float32, np.uint8]:
    """8-bit codes of ``x``, their scale and zero point (``DynamicQuantizeLinear``: the range
    ``[min(x, 0), max(x, 0)]`` in 255 steps).

    >>> codes, scale, zero = quantise_queries(np.array([[-1.0, 0.0, 3.0]], np.float32))
    >>> codes.tolist(), round(float(scale), 5), int(zero)
    ([[0, 64, 255]], 0.01569, 64)
    """
    lo = min(0.0, float(x.min())) if x.size else 0.0
    hi = max(0.0, float(x.max())) if x.size else 0.0
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zero = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
    codes = np.rint(x / scale)
    codes += zero
    return np.clip(codes, 0, 255).astype(np.uint8), scale, zero


class ListScan:
    """Best row of the probed lists for each query (see the module docstring); subclasses run the
    projection and the two passes.

    ``lists`` are the augmented lists, ``starts`` the first bank row of each, ``centroids`` the
    augmented centroids, ``axes`` the ``(d, k)`` projection of a query into the scanned subspace
    (``None``: scanned in full, ``k = d``).
    """

    def __init__(
        self,
        lists: list[np.ndarray],
        starts: np.ndarray,
        centroids: np.ndarray,
        axes: np.ndarray | None,
        nprobe: int,
    ) -> None:
        self.lists = lists
        self.centroids = centroids
        self.axes = axes
        self.n_lists = len(lists)
        self.nprobe = min(nprobe, self.n_lists)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.full = [i for i, rows in enumerate(lists) if len(rows)]  # lists with rows
        self.two_pass = True  # the 8-bit pass first (:meth:`choose`)
        self.quantised = {i: quantise_list(lists[i]) for i in self.full}
        # the largest row (squared norm of ``-2 * rows``) and row step, for :meth:`rounding`
        self._w2 = max(
            (float(np.einsum("ij,ij->i", x[:, :-1], x[:, :-1]).max()) for x in lists if len(x)), default=0.0
        )
        self._s2 = max((float(ql.scales.max()) ** 2 for ql in self.quantised.values()), default=0.0)
        self.prepare()

    def prepare(self) -> None:
        """Build what the scanner runs on (called once by the constructor)."""

    def choose(self, sample: np.ndarray, rounds: int = 3) -> bool:
        """Time both ways on ``sample`` queries ``(m, d)`` and keep the faster: the 8-bit pass and
        then the likely lists' rows in float32 (two passes), or every probed list's rows in float32
        (one pass). Returns :attr:`two_pass`. Each way is run once to warm up, then ``rounds``
        times in turn; the best time of each counts."""
        best = {True: np.inf, False: np.inf}
        for r in range(rounds + 1):
            for way in (True, False):
                self.two_pass = way
                t0 = time.perf_counter()
                self.best_rows(sample)
                if r:
                    best[way] = min(best[way], time.perf_counter() - t0)
        self.two_pass = bool(best[True] < best[False])
        return self.two_pass

    def best_rows(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of the bank (``int64``) with the smallest estimated distance for each query, and a
        mask of the queries whose probed lists were all empty (their row is 0: search them all)."""
        qa, probe = self.project(q)
        lists = self.likely_lists(qa, probe) if self.two_pass else probe
        # in float32: the rows of each query's lists, and the nearest of them
        pairs = _Pairs(lists, self.n_lists)
        groups = pairs.groups(self.full)
        at = np.arange(len(q))
        lows, found = [], []
        for i, block in zip(self.full, self.blocks(qa, groups), strict=True):
            j = block.argmin(axis=1)
            lows.append(block[at[: len(j)], j])  # plain indexing: take_along_axis costs 8 us a call
            found.append(j + self.starts[i])
        low = pairs.collect(self.full, lows)
        row = pairs.collect(self.full, found, fill=0)
        best = low.argmin(axis=1)
        missed = ~np.isfinite(low[at, best])  # every probed list empty
        return row[at, best].astype(np.int64), missed

    def likely_lists(self, qa: np.ndarray, probe: np.ndarray) -> np.ndarray:
        """The first pass: of each query's probed lists, the best by the 8-bit estimates, and the
        second best when the two are within the estimates' rounding (a near tie); ``n_lists``
        where there is none, ``(m, 2)``."""
        codes, scale, zero = quantise_queries(qa[:, :-1])
        pairs = _Pairs(probe, self.n_lists)
        est = pairs.collect(self.full, self.pair_minima(codes, scale, zero, pairs.groups(self.full)))
        at = np.arange(len(qa))
        first = est.argmin(axis=1)
        best = est[at, first]
        missed = ~np.isfinite(best)  # every probed list empty
        est[at, first] = np.inf
        second = est.argmin(axis=1)
        gap = est[at, second] - np.where(missed, 0.0, best)
        near = gap <= RERANK_MARGIN * self.rounding(qa, scale)
        return np.stack(
            [
                np.where(missed, self.n_lists, probe[at, first]),
                np.where(near, probe[at, second], self.n_lists),
            ],
            axis=1,
        )

    def rounding(self, qa: np.ndarray, scale: np.float32) -> np.ndarray:
        """Each query's scale of the estimates' rounding error: the standard deviation of a
        product's error with the query's codes' step ``scale`` and the largest row's (``sqrt(
        (s_q^2 |w|^2 + s_w^2 |q|^2) / 12)``, an upper scale: the errors measured on magnetic_tile
        have 0.37 of it as their deviation and 1.94 of it as their largest)."""
        q2 = np.einsum("ij,ij->i", qa[:, :-1], qa[:, :-1])
        return np.sqrt((scale * scale * self._w2 + self._s2 * q2) / 12.0)  # type: ignore[no-any-return]

    def project(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[q @ axes, 1]`` ``(m, k + 1)`` and the ``nprobe`` nearest lists ``(m, nprobe)``."""
        raise NotImplementedError

    def pair_minima(
        self, codes: np.ndarray, scale: np.float32, zero: np.uint8, groups: dict[int, np.ndarray]
    ) -> list[np.ndarray]:
        """For each list of :attr:`full`, the smallest 8-bit estimate of each query in its group."""
        raise NotImplementedError

    def blocks(self, qa: np.ndarray, groups: dict[int, np.ndarray]) -> list[np.ndarray]:
        """For each list of :attr:`full`, the float32 block of its group's queries x its rows."""
        raise NotImplementedError


class NumpyListScan(ListScan):
    """The scan in numpy: one product per list from Python."""

    def prepare(self) -> None:
        # the codes as float32: integer products of up to 2^24 are exact
        self._codes = {i: self.quantised[i].codes.astype(np.float32) for i in self.full}

    def project(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = self.lists[0].shape[1]
        qa = np.empty((len(q), width), dtype=np.float32)
        qa[:, :-1] = q if self.axes is None else q @ self.axes
        qa[:, -1] = 1.0
        scores = qa @ self.centroids.T
        if self.nprobe < self.n_lists:
            return qa, np.argpartition(scores, self.nprobe - 1, axis=1)[:, : self.nprobe]
        return qa, np.tile(np.arange(self.n_lists), (len(q), 1))

    def pair_minima(
        self, codes: np.ndarray, scale: np.float32, zero: np.uint8, groups: dict[int, np.ndarray]
    ) -> list[np.ndarray]:
        centred = codes.astype(np.float32)
        centred -= np.float32(zero)
        out = []
        for i in self.full:
            ql = self.quantised[i]
            block = centred[groups[i]] @ self._codes[i]
            block *= scale * ql.scales
            block += ql.bias
            out.append(block.min(axis=1))
        return out

    def blocks(self, qa: np.ndarray, groups: dict[int, np.ndarray]) -> list[np.ndarray]:
        return [qa[groups[i]] @ self.lists[i].T for i in self.full]


class OrtListScan(ListScan):
    """The scan as three ONNX graphs: ``project`` (projection and ``TopK`` of the centroids),
    ``scan_min`` (first pass) and ``scan_rows`` (second pass)."""

    def prepare(self) -> None:
        self._names = [f"o{i}" for i in self.full]
        width = self.lists[0].shape[1]
        self._project = session(project_graph(self.centroids, self.axes, self.nprobe, width))
        self._scan_min = session(scan_min_graph(self.quantised, self.full))
        self._scan_rows = session(scan_rows_graph(self.lists, self.full))

    def project(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qa, probe = self._project.run(None, {"q": q})
        return qa, probe

    def pair_minima(
        self, codes: np.ndarray, scale: np.float32, zero: np.uint8, groups: dict[int, np.ndarray]
    ) -> list[np.ndarray]:
        feeds = {"codes": codes, "scale": np.asarray(scale), "zero": np.asarray(zero)}
        feeds |= {f"i{i}": groups[i] for i in self.full}
        return list(self._scan_min.run(self._names, feeds))

    def blocks(self, qa: np.ndarray, groups: dict[int, np.ndarray]) -> list[np.ndarray]:
        return list(self._scan_rows.run(self._names, {"qa": qa} | {f"i{i}": groups[i] for i in self.full}))


class _Pairs:
    """(query, list) pairs ``lists`` ``(m, r)`` grouped by list (a radix sort); ``n_lists`` marks
    a pair to skip."""

    def __init__(self, lists: np.ndarray, n_lists: int) -> None:
        self.shape = lists.shape
        flat = lists.ravel().astype(np.int16 if n_lists < 2**15 - 1 else np.int32)
        self.order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=n_lists + 1)[:n_lists]
        self.ends = np.cumsum(counts)
        self.firsts = self.ends - counts
        self.queries = self.order // lists.shape[1]  # pairs are query-major

    def groups(self, full: list[int]) -> dict[int, np.ndarray]:
        """The queries of each list's pairs."""
        return {i: self.queries[self.firsts[i] : self.ends[i]] for i in full}

    def collect(self, full: list[int], values: list[np.ndarray], fill: float = np.inf) -> np.ndarray:
        """Each list's per-pair ``values`` back in ``(m, r)`` pair order (``fill`` where skipped)."""
        dtype = values[0].dtype if values else np.float32
        grouped = np.full(self.order.shape, fill, dtype=dtype)
        for i, v in zip(full, values, strict=True):
            grouped[self.firsts[i] : self.ends[i]] = v
        out = np.empty_like(grouped)
        out[self.order] = grouped
        return out.reshape(self.shape)
