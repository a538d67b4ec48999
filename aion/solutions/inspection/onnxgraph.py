"""The patch graph around a user's ONNX backbone (``onnxbackbone.py`` finds its feature maps): the
graph cut after the chosen maps and wrapped, in ONNX, in the steps :class:`~.backbones.PatchGraph`
puts around a built-in backbone, so that training and the edge runtime run one ONNX graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from aion.solutions.inspection.errors import InspectionError
from aion.solutions.inspection.onnxbackbone import (
    FeatureMap,
    channels_last,
    check_input_size,
    load_onnx,
    real_inputs,
)

if TYPE_CHECKING:
    from onnx import ModelProto


#: Our graph's input and output names: a user's tensor of either name is moved aside (:func:`_moved`).
RESERVED = ("image", "features")


def _moved(name: str) -> str:
    """The name a user's tensor has in the patch graph (ours are ``aion/...``, plus :data:`RESERVED`)."""
    return f"backbone/{name}" if name in RESERVED else name


def _rename(graph: Any, old: str, new: str) -> None:
    """Rename tensor ``old`` to ``new`` wherever ``graph`` (not its subgraphs) uses it."""
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for v in [*graph.input, *graph.output, *graph.value_info]:
        if v.name == old:
            v.name = new


def _cut(model: ModelProto, outputs: Sequence[str]) -> ModelProto:
    """A copy of ``model`` with only the nodes and initializers that ``outputs`` need (the
    classifier's head and any other branch dropped)."""
    onnx = load_onnx()
    producer = {out: node for node in model.graph.node for out in node.output}
    needed: set[int] = set()  # the nodes kept (by identity)
    used: set[str] = set()  # every tensor they read, initializers included
    todo = list(outputs)
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        node = producer.get(name)
        if node is None or id(node) in needed:
            continue
        needed.add(id(node))
        todo.extend(i for i in node.input if i)
        for attr in node.attribute:  # a subgraph (If, Loop) reads tensors of the outer graph
            for sub in [attr.g, *attr.graphs]:
                todo.extend(i for n in sub.node for i in n.input if i)
    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    graph = cut.graph
    keep = [n for n in model.graph.node if id(n) in needed]
    del graph.node[:]
    graph.node.extend(keep)
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return cut


def patch_graph(
    model: ModelProto,
    resolution: int,
    levels: Sequence[FeatureMap],
    mean: Sequence[float],
    std: Sequence[float],
    feature_scale: np.ndarray | None = None,
) -> bytes:
    """The model file's patch graph around ``model`` cut after ``levels``: uint8 pixels
    ``(N, S, S, C)`` (C = 3, or 1 for grey) -> ``(N, (S/8)^2, D)`` float32 features, as
    :class:`~.backbones.PatchGraph` computes them for a built-in backbone."""
    onnx = load_onnx()
    helper, tp = onnx.helper, onnx.TensorProto
    check_input_size(model, resolution)
    source = real_inputs(model)[0].name
    cut = _cut(model, [m.name for m in levels])
    graph = cut.graph
    for name in RESERVED:
        _rename(graph, name, _moved(name))
    _rename(graph, _moved(source), "aion/normalised")
    del graph.input[:]  # (initializers need no input entries from IR version 4 on)
    cut.ir_version = max(cut.ir_version, 4)
    del graph.output[:]
    del graph.value_info[:]  # shapes fixed to the export's batch would contradict a batch of 8

    grid = resolution // 8
    dims = [m.channels for m in levels]
    scale = np.ones(sum(dims), np.float32) if feature_scale is None else np.asarray(feature_scale, np.float32)
    nhwc = channels_last(model)  # the graph takes (N, H, W, 3): the pixels need no transpose
    per_channel = (1, 1, 1, 3) if nhwc else (1, 3, 1, 1)
    m_ = np.asarray(mean, np.float32).reshape(per_channel)
    s_ = np.asarray(std, np.float32).reshape(per_channel)
    consts = {
        "aion/pixel_scale": 1.0 / (255.0 * s_),
        "aion/pixel_shift": -m_ / s_,
        "aion/feature_scale": scale,
        "aion/layout": np.array([0, sum(dims), grid * grid], np.int64),
        "aion/roi": np.zeros(0, np.float32),
    }
    pre = [helper.make_node("Cast", ["image"], ["aion/float"], to=tp.FLOAT)]
    pixels = "aion/float"
    if not nhwc:
        pre.append(helper.make_node("Transpose", [pixels], ["aion/nchw"], perm=[0, 3, 1, 2]))
        pixels = "aion/nchw"
    pre += [
        helper.make_node("Mul", [pixels, "aion/pixel_scale"], ["aion/scaled"]),
        helper.make_node("Add", ["aion/scaled", "aion/pixel_shift"], ["aion/normalised"]),
    ]
    post, pooled = [], []
    for i, level in enumerate(levels):
        name = _moved(level.name)
        if level.channels_last:  # pooled and resized channels first, as the other levels
            post.append(helper.make_node("Transpose", [name], [f"aion/level{i}"], perm=[0, 3, 1, 2]))
            name = f"aion/level{i}"
        out = f"aion/pool{i}"
        post.append(
            helper.make_node(
                "AveragePool",
                [name],
                [out],
                kernel_shape=[3, 3],
                strides=[1, 1],
                pads=[1, 1, 1, 1],
                count_include_pad=0,
            )
        )
        if level.stride < 8:  # a finer level: the mean of its cells in each patch
            k = 8 // level.stride
            post.append(
                helper.make_node("AveragePool", [out], [f"{out}/grid"], kernel_shape=[k, k], strides=[k, k])
            )
            out = f"{out}/grid"
        elif level.stride > 8:  # a coarser one: bilinear, as torch's interpolate (align_corners=False)
            f = float(level.stride // 8)
            consts[f"{out}/scales"] = np.array([1.0, 1.0, f, f], np.float32)
            post.append(
                helper.make_node(
                    "Resize",
                    [out, "aion/roi", f"{out}/scales"],
                    [f"{out}/grid"],
                    mode="linear",
                    coordinate_transformation_mode="pytorch_half_pixel",
                )
            )
            out = f"{out}/grid"
        pooled.append(out)
    post += [
        helper.make_node("Concat", pooled, ["aion/levels"], axis=1),
        helper.make_node("Reshape", ["aion/levels", "aion/layout"], ["aion/flat"]),
        helper.make_node("Transpose", ["aion/flat"], ["aion/patches"], perm=[0, 2, 1]),
        helper.make_node("Mul", ["aion/patches", "aion/feature_scale"], ["features"]),
    ]
    nodes = [*pre, *graph.node, *post]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(onnx.numpy_helper.from_array(v, k) for k, v in consts.items())
    graph.input.append(
        helper.make_tensor_value_info("image", tp.UINT8, ["batch", resolution, resolution, "channels"])
    )
    graph.output.append(
        helper.make_tensor_value_info("features", tp.FLOAT, ["batch", grid * grid, sum(dims)])
    )
    try:
        onnx.checker.check_model(cut)
    except Exception as e:  # pragma: no cover - a graph the checks above let through
        raise InspectionError(f"패치 그래프 오류: {e} / Patch graph invalid: {e}") from e
    return cut.SerializeToString()
