"""The inverted lists scanned by ONNX Runtime, for :class:`~.knn.NearestNeighbour`.

The numpy scan (``knn.py``) runs one matrix product per list from Python; between products the
thread holds the interpreter lock, so two threads splitting a batch wait on each other. Here the
same arithmetic runs as three small ONNX graphs built from the lists when the model is opened:

1. ``project``: queries -> ``[q @ axes, 1]`` and the ``nprobe`` nearest centroids (``TopK``);
2. ``scan_min``: for each list, its queries' products with ``[-2 * rows, |rows|^2]`` and the
   smallest (``ReduceMin``): each (query, list) pair's best estimate, with no block leaving the
   graph;
3. ``scan_rows``: each query's best list only, whose block comes back for ``argmin`` (numpy;
   ONNX Runtime's ``ArgMin`` is several times slower than its ``ReduceMin``).

Grouping the pairs by list (a radix sort) stays in numpy between the graphs. The estimates are
the numpy scan's float32 products (summed in another order), so the rows found are the same
(identical distances on 8,192 real queries, and in the tests); a whole graph run releases the
interpreter lock, and ONNX Runtime's products are faster than numpy's for these shapes
(``docs/benchmarks.md``). Building takes about 0.06 s when a model is opened and needs the
``onnx`` package; without it (or without ONNX Runtime) the numpy scan is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: ONNX opset of the scan graphs (``ReduceMin`` takes ``axes`` as an attribute up to 17).
OPSET = 17


def available() -> bool:
    """Whether the ``onnx`` and ``onnxruntime`` packages can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:  # pragma: no cover - both are dependencies of the package
        return False
    return True


class OrtListScan:
    """Best row of the probed lists for each query; see the module docstring.

    ``lists`` are the augmented lists ``[-2 * rows, |rows|^2]`` (width ``k + 1``), ``starts`` the
    first bank row of each, ``centroids`` the augmented centroids, ``axes`` the ``(d, k)``
    projection of a query into the scanned subspace (``None``: scanned in full, ``k = d``).
    """

    def __init__(
        self,
        lists: list[np.ndarray],
        starts: np.ndarray,
        centroids: np.ndarray,
        axes: np.ndarray | None,
        nprobe: int,
    ) -> None:
        self.n_lists = len(lists)
        self.nprobe = min(nprobe, self.n_lists)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.full = [i for i, rows in enumerate(lists) if len(rows)]  # lists with rows
        self._names = [f"o{i}" for i in self.full]
        self._project = _session(_project_graph(centroids, axes, self.nprobe, lists[0].shape[1]))
        self._scan_min = _session(_scan_graph(lists, self.full, reduce=True))
        self._scan_rows = _session(_scan_graph(lists, self.full, reduce=False))

    def best_rows(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of the bank (``int64``) with the smallest estimated distance for each query, and a
        mask of the queries whose probed lists were all empty (their row is 0: search them all)."""
        m, p = len(q), self.nprobe
        qa, probe = self._project.run(None, {"q": q})
        flat = probe.ravel().astype(np.int16 if self.n_lists < 2**15 else np.int32)
        order = np.argsort(flat, kind="stable")  # (query, list) pairs grouped by list
        counts = np.bincount(flat, minlength=self.n_lists)
        ends = np.cumsum(counts)
        firsts = ends - counts
        queries = order // p  # pairs are query-major
        feeds = {"qa": qa} | {f"i{i}": queries[firsts[i] : ends[i]] for i in self.full}
        est = np.full(m * p, np.inf, dtype=np.float32)
        for i, low in zip(self.full, self._scan_min.run(self._names, feeds), strict=True):
            est[firsts[i] : ends[i]] = low
        per_pair = np.empty_like(est)
        per_pair[order] = est
        by_query = per_pair.reshape(m, p)
        pick = by_query.argmin(axis=1)
        missed = ~np.isfinite(by_query[np.arange(m), pick])
        best = probe[np.arange(m), pick].astype(flat.dtype)
        best[missed] = -1
        order2 = np.argsort(best, kind="stable")  # queries grouped by their best list (radix sort)
        ends2 = np.cumsum(np.bincount(best[~missed], minlength=self.n_lists)) + int(missed.sum())
        firsts2 = np.concatenate([[int(missed.sum())], ends2[:-1]])
        feeds = {"qa": qa} | {f"i{i}": order2[firsts2[i] : ends2[i]] for i in self.full}
        rows = np.zeros(m, dtype=np.int64)
        for i, block in zip(self.full, self._scan_rows.run(self._names, feeds), strict=True):
            if len(block):
                rows[order2[firsts2[i] : ends2[i]]] = block.argmin(axis=1) + self.starts[i]
        return rows, missed


def _session(graph: Any) -> Any:
    import onnx
    import onnxruntime as ort

    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the caller splits a batch over its own threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _project_graph(centroids: np.ndarray, axes: np.ndarray | None, nprobe: int, width: int) -> Any:
    """``q (m, d)`` -> ``qa = [q @ axes, 1] (m, width)`` and the ``nprobe`` lists with the
    smallest ``qa . centroid`` (the squared distance less ``|q|^2``)."""
    from onnx import TensorProto, helper, numpy_helper

    d = axes.shape[0] if axes is not None else width - 1
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(centroids.T, dtype=np.float32), "cents"),
        numpy_helper.from_array(np.array([0, 0, 0, 1], dtype=np.int64), "pads"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array([nprobe], dtype=np.int64), "k"),
    ]
    nodes = []
    src = "q"
    if axes is not None:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(axes, dtype=np.float32), "axes"))
        nodes.append(helper.make_node("MatMul", ["q", "axes"], ["qs"]))
        src = "qs"
    nodes += [
        helper.make_node("Pad", [src, "pads", "one"], ["qa"], mode="constant"),
        helper.make_node("MatMul", ["qa", "cents"], ["cd"]),
        helper.make_node("TopK", ["cd", "k"], ["_v", "probe"], axis=1, largest=0, sorted=0),
    ]
    return helper.make_graph(
        nodes,
        "ivf_project",
        [helper.make_tensor_value_info("q", TensorProto.FLOAT, ["m", d])],
        [
            helper.make_tensor_value_info("qa", TensorProto.FLOAT, ["m", width]),
            helper.make_tensor_value_info("probe", TensorProto.INT64, ["m", nprobe]),
        ],
        inits,
    )


def _scan_graph(lists: list[np.ndarray], full: list[int], reduce: bool) -> Any:
    """One branch per non-empty list ``i``: ``qa[i_i] @ list_i.T`` and (``reduce``) its row minimum."""
    from onnx import TensorProto, helper, numpy_helper

    width = lists[0].shape[1]
    inputs = [helper.make_tensor_value_info("qa", TensorProto.FLOAT, ["m", width])]
    nodes, inits, outputs = [], [], []
    for i in full:
        rows = lists[i]
        inits.append(numpy_helper.from_array(np.ascontiguousarray(rows.T), f"w{i}"))
        inputs.append(helper.make_tensor_value_info(f"i{i}", TensorProto.INT64, [f"n{i}"]))
        nodes.append(helper.make_node("Gather", ["qa", f"i{i}"], [f"g{i}"], axis=0))
        if reduce:
            nodes.append(helper.make_node("MatMul", [f"g{i}", f"w{i}"], [f"b{i}"]))
            nodes.append(helper.make_node("ReduceMin", [f"b{i}"], [f"o{i}"], axes=[1], keepdims=0))
            shape: list[Any] = [f"n{i}"]
        else:
            nodes.append(helper.make_node("MatMul", [f"g{i}", f"w{i}"], [f"o{i}"]))
            shape = [f"n{i}", len(rows)]
        outputs.append(helper.make_tensor_value_info(f"o{i}", TensorProto.FLOAT, shape))
    name = "ivf_scan_min" if reduce else "ivf_scan_rows"
    return helper.make_graph(nodes, name, inputs, outputs, inits)
