"""A user's own ONNX backbone: a CNN exported to ONNX (a classifier, a detector's trunk), whose
stride-8 and stride-16 feature maps become the patch features, as layers 2 and 3 of a ResNet do
in PatchCore.

Nothing here imports torch: ``onnxgraph.py`` cuts the graph after the chosen feature maps and
wraps it, in ONNX, in the steps :class:`~.backbones.PatchGraph` puts around a built-in backbone;
training and the edge runtime then run that one graph with ONNX Runtime.

Which maps: :func:`feature_maps` runs the graph once on an image of the model's size and lists
every 4-D map with its channels and stride; :func:`default_levels` takes, at stride 8 and at
stride 16, the last *residual sum* (an ``Add`` of two maps of one shape, or the activation right
after it): the end of that stage in ResNets, MobileNets and EfficientNets. The next stage's first
convolution also runs at the old stride (its stride-2 step comes later), so "the last map at
stride 8" would be a wider, half-computed map. A graph without residual sums falls back to the
last map at each stride. ``layers`` names maps by hand (``aion inspect layers FILE`` lists them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from aion.solutions.inspection.errors import InspectionError

if TYPE_CHECKING:
    from onnx import ModelProto, ValueInfoProto

#: Input normalisations a user's graph may expect, as (mean, std) of ``x / 255`` per channel.
PIXEL_NORMS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision, timm
    "symmetric": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # -1..1 (TF, Lite models)
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # 0..1
}

#: Strides a patch feature may come from (the patch grid is the stride-8 one).
STRIDES = (4, 8, 16, 32)
#: Element-wise activations that may follow a residual sum (the stage's output is after them).
ACTIVATIONS = {"Relu", "Clip", "LeakyRelu", "HardSwish", "Elu", "Selu", "Celu", "Gelu", "PRelu"}
MIN_OPSET = 11  # Resize with roi/scales inputs and pytorch_half_pixel


class FeatureMap(NamedTuple):
    """A 4-D float map of the graph at one of :data:`STRIDES`."""

    name: str
    op: str  # the operator that makes it
    channels: int
    stride: int
    order: int  # its node's position (ONNX lists nodes in topological order)
    residual: bool  # a residual sum, or the activation right after one
    channels_last: bool = False  # (N, h, w, C), as TensorFlow graphs hold maps; else (N, C, h, w)


def load_onnx() -> Any:  # the onnx package is a dependency; imported late to keep the CLI's start fast
    import onnx

    return onnx


def read_model(path: Path | str) -> ModelProto:
    """Load and check ``path``: one float image input ``(N, 3, H, W)`` (or ``(N, H, W, 3)``, as
    TensorFlow and Keras graphs take it), default-domain opset :data:`MIN_OPSET` or newer (older
    graphs are converted).

    The last file read is kept while it is unchanged (same modification time and size): the command
    asks for its input size, then training for its feature maps, and a large graph takes a second to
    parse and check. Callers copy the graph before changing it."""
    try:
        st = Path(path).stat()
        key: tuple[str, int, int] | None = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None  # _read_model says what is wrong with it
    last = _last_read.get("graph")  # one read of the pair: safe beside another thread's write
    if key is not None and last is not None and last[0] == key:
        return last[1]
    model = _read_model(path)
    if key is not None:
        _last_read["graph"] = (key, model)
    return model


#: The last graph :func:`read_model` read, with its file's (path, mtime, size).
_last_read: dict[str, tuple[tuple[str, int, int], ModelProto]] = {}


def _read_model(path: Path | str) -> ModelProto:
    onnx = load_onnx()
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as e:  # onnx raises DecodeError, ValidationError, OSError, ...
        raise InspectionError(
            f"ONNX 백본 파일을 읽을 수 없음: {path} ({type(e).__name__}) / "
            f"Cannot read the ONNX backbone file: {path} ({type(e).__name__}: {str(e)[:200]})"
        ) from e
    inputs = real_inputs(model)
    shape = _dims(inputs[0]) if len(inputs) == 1 else []
    floats = len(inputs) == 1 and inputs[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    if not floats or len(shape) != 4 or (shape[1] not in (3, None) and shape[3] != 3):
        raise InspectionError(
            f"ONNX 백본은 float 이미지 입력 하나 (N, 3, H, W) 또는 (N, H, W, 3)를 받아야 함: {path} / "
            f"An ONNX backbone must take one float image input, (N, 3, H, W) or (N, H, W, 3): {path} "
            f"(inputs: {[(i.name, _dims(i)) for i in inputs]})"
        )
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, 13)
        except Exception as e:
            raise InspectionError(
                f"ONNX opset {opset}은 너무 오래됨 (11 이상으로 다시 내보내기): {path} / "
                f"ONNX opset {opset} is too old (export again with opset 11 or newer): {path}"
            ) from e
    return model


def real_inputs(
    model: ModelProto,
) -> list[ValueInfoProto]:  # graph inputs that are not initializers (IR < 4 lists both)
    init = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in init]


def _dims(value_info: ValueInfoProto) -> list[int | None]:
    """Dimensions of a tensor's declared shape (``None``: not fixed)."""
    return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]


def channels_last(model: ModelProto) -> bool:
    """Whether the graph takes ``(N, H, W, 3)`` images (TensorFlow, Keras) rather than
    ``(N, 3, H, W)`` (a graph that fixes neither is taken as channels first)."""
    shape = _dims(real_inputs(model)[0])
    return shape[3] == 3 and shape[1] != 3


def input_size(model: ModelProto) -> int | None:
    """The image side the graph is fixed to, or ``None`` when any side is accepted."""
    shape = _dims(real_inputs(model)[0])
    h, w = shape[1:3] if channels_last(model) else shape[2:]
    if h is not None and w is not None and h != w:
        raise InspectionError(
            f"정사각형 입력만 지원: {h} x {w} / Only square inputs are supported: {h} x {w}"
        )
    return h


def check_input_size(model: ModelProto, resolution: int) -> None:
    """Refuse a resolution the graph cannot take, naming the one it takes."""
    fixed = input_size(model)
    if fixed is not None and fixed != resolution:
        raise InspectionError(
            f"이 ONNX 백본은 {fixed} x {fixed} 이미지만 받음: --resolution {fixed} / "
            f"This ONNX backbone takes {fixed} x {fixed} images only: use --resolution {fixed}"
        )


def feature_maps(model: ModelProto, resolution: int) -> list[FeatureMap]:
    """Every 4-D map of ``model`` at one of :data:`STRIDES` when it reads a ``resolution`` image
    (measured by running it once, so shapes need not be declared), in graph order.

    A sum counts as residual when both its inputs are maps of its own shape (a bias or a
    normalisation's shift is a constant); the activation right after it replaces it.
    """
    import onnxruntime as ort

    onnx = load_onnx()
    check_input_size(model, resolution)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    graph = probe.graph
    init = {t.name for t in graph.initializer}
    known = {o.name for o in graph.output}
    made: dict[str, tuple[int, str]] = {}
    for order, node in enumerate(graph.node):
        for out in node.output:
            if out and out not in init:
                made[out] = (order, node.op_type)
                if out not in known:
                    graph.output.append(onnx.ValueInfoProto(name=out))
    # every output needs a type for the session: infer them, and drop what stays untyped
    del graph.value_info[:]
    typed = onnx.shape_inference.infer_shapes(probe)
    kinds = {v.name: v.type.tensor_type.elem_type for v in [*typed.graph.value_info, *typed.graph.output]}
    keep = [o for o in graph.output if kinds.get(o.name) == onnx.TensorProto.FLOAT]
    del graph.output[:]
    for o in keep:
        graph.output.append(onnx.helper.make_tensor_value_info(o.name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        side = (resolution, resolution)
        shape = (1, *side, 3) if channels_last(model) else (1, 3, *side)
        image = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        values = session.run(None, {real_inputs(model)[0].name: image})
    except Exception as e:
        raise InspectionError(
            f"ONNX 백본을 실행할 수 없음 ({resolution} x {resolution}): {str(e)[:200]} / "
            f"Cannot run the ONNX backbone on a {resolution} x {resolution} image: {str(e)[:200]}"
        ) from e
    shapes = {o.name: v.shape for o, v in zip(keep, values, strict=True)}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    residual: set[str] = set()
    for name, node in producers.items():
        if node.op_type not in ("Add", "Sum") or len(node.input) != 2 or name not in shapes:
            continue
        if all(shapes.get(i) == shapes[name] for i in node.input):
            after = consumers.get(name, [])
            single = len(after) == 1 and after[0].op_type in ACTIVATIONS
            residual.add(after[0].output[0] if single else name)
    maps = []
    for name, shape in shapes.items():
        if len(shape) != 4 or shape[0] != 1 or name not in made:
            continue
        # (1, C, h, h), else (1, h, h, C): a map's side divides the image's by its stride
        last = shape[2] != shape[3] and shape[1] == shape[2]
        side, channels = (shape[1], shape[3]) if last else (shape[2], shape[1])
        if not side or (not last and shape[2] != shape[3]):
            continue
        stride = resolution // side
        if stride in STRIDES and stride * side == resolution:
            order, op = made[name]
            maps.append(FeatureMap(name, op, int(channels), stride, order, name in residual, last))
    return sorted(maps, key=lambda m: m.order)


def default_levels(maps: Sequence[FeatureMap]) -> tuple[str, str]:
    """The stride-8 and stride-16 stage ends (module docstring): the last residual map at each
    stride, or the last map there when the graph has no residual sums at that stride."""
    chosen = []
    for stride in (8, 16):
        at = [m for m in maps if m.stride == stride]
        if not at:
            strides = sorted({m.stride for m in maps})
            raise InspectionError(
                f"ONNX 백본에 stride {stride} 특징 맵이 없음 (있는 stride: {strides}) / "
                f"The ONNX backbone has no stride-{stride} feature map (strides found: {strides})"
            )
        residual = [m for m in at if m.residual]
        chosen.append(max(residual or at, key=lambda m: m.order).name)
    return chosen[0], chosen[1]


def choose_levels(maps: Sequence[FeatureMap], layers: Sequence[str] | None) -> list[FeatureMap]:
    """The maps named in ``layers`` (``None``: :func:`default_levels`), finest first."""
    by_name = {m.name: m for m in maps}
    names = list(layers) if layers else list(default_levels(maps))
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        shown = ", ".join(f"{m.name} (stride {m.stride}, {m.channels} ch)" for m in maps[-12:])
        raise InspectionError(
            f"ONNX 백본에 없는 특징 맵: {unknown} (aion inspect layers로 목록 확인) / "
            f"No such feature map in the ONNX backbone: {unknown} (list them with aion inspect layers; "
            f"the last ones: {shown})"
        )
    return sorted((by_name[n] for n in dict.fromkeys(names)), key=lambda m: (m.stride, m.order))
