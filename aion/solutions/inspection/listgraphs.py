"""The ONNX graphs of the list scan (:class:`~.listscan.OrtListScan`), built from the lists when a
model is opened: ``project`` (the projection and the probed lists), ``scan_min`` (the first
pass: 8-bit products and their minimum per pair) and ``scan_rows`` (the second pass: float32
blocks). Each runs on one thread; the caller splits a batch over its own threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .listscan import QuantisedList

#: ONNX opset of the scan graphs (``ReduceMin`` takes ``axes`` as an attribute up to 17).
OPSET = 17


def session(graph: Any) -> Any:
    """An ONNX Runtime session of ``graph`` on one thread."""
    import onnx
    import onnxruntime as ort

    opsets = [onnx.helper.make_opsetid("", OPSET), onnx.helper.make_opsetid("com.microsoft", 1)]
    model = onnx.helper.make_model(graph, opset_imports=opsets)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the caller splits a batch over its own threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def project_graph(centroids: np.ndarray, axes: np.ndarray | None, nprobe: int, width: int) -> Any:
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


def scan_min_graph(quantised: dict[int, QuantisedList], full: list[int]) -> Any:
    """One branch per non-empty list ``i``: the 8-bit products of the query codes ``codes[i_i]``
    with the list's codes, scaled, plus ``|rows|^2`` (``MatMulIntegerToFloat``), and their
    row minimum."""
    from onnx import TensorProto, helper, numpy_helper

    width = next(iter(quantised.values())).codes.shape[0]
    inputs = [
        helper.make_tensor_value_info("codes", TensorProto.UINT8, ["m", width]),
        helper.make_tensor_value_info("scale", TensorProto.FLOAT, []),
        helper.make_tensor_value_info("zero", TensorProto.UINT8, []),
    ]
    nodes, inits, outputs = [], [], []
    for i in full:
        ql = quantised[i]
        inits += [
            numpy_helper.from_array(ql.codes, f"w{i}"),
            numpy_helper.from_array(ql.scales, f"s{i}"),
            numpy_helper.from_array(ql.bias, f"b{i}"),
        ]
        inputs.append(helper.make_tensor_value_info(f"i{i}", TensorProto.INT64, [f"n{i}"]))
        nodes += [
            helper.make_node("Gather", ["codes", f"i{i}"], [f"g{i}"], axis=0),
            helper.make_node(
                "MatMulIntegerToFloat",
                [f"g{i}", f"w{i}", "scale", f"s{i}", "zero", "", f"b{i}"],
                [f"e{i}"],
                domain="com.microsoft",
            ),
            helper.make_node("ReduceMin", [f"e{i}"], [f"o{i}"], axes=[1], keepdims=0),
        ]
        outputs.append(helper.make_tensor_value_info(f"o{i}", TensorProto.FLOAT, [f"n{i}"]))
    return helper.make_graph(nodes, "ivf_scan_min", inputs, outputs, inits)


def scan_rows_graph(lists: list[np.ndarray], full: list[int]) -> Any:
    """One branch per non-empty list ``i``: the float32 block ``qa[i_i] @ list_i.T``."""
    from onnx import TensorProto, helper, numpy_helper

    width = lists[0].shape[1]
    inputs = [helper.make_tensor_value_info("qa", TensorProto.FLOAT, ["m", width])]
    nodes, inits, outputs = [], [], []
    for i in full:
        rows = lists[i]
        inits.append(numpy_helper.from_array(np.ascontiguousarray(rows.T), f"w{i}"))
        inputs.append(helper.make_tensor_value_info(f"i{i}", TensorProto.INT64, [f"n{i}"]))
        nodes.append(helper.make_node("Gather", ["qa", f"i{i}"], [f"g{i}"], axis=0))
        nodes.append(helper.make_node("MatMul", [f"g{i}", f"w{i}"], [f"o{i}"]))
        outputs.append(helper.make_tensor_value_info(f"o{i}", TensorProto.FLOAT, [f"n{i}", len(rows)]))
    return helper.make_graph(nodes, "ivf_scan_rows", inputs, outputs, inits)
