"""The patch graph training runs and a model file ships, from either kind of backbone: a built-in
torch one (``backbones.py``, exported to ONNX) or a user's ONNX graph (``onnxbackbone.py``, wrapped
in ONNX directly). Training asks both the same things: the pixel normalisation, each level's
channels (for the level scaling), the graph's bytes with the measured scale, and the runner the
trained model keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from aion.solutions.inspection.config import TrainConfig, check_resolution
from aion.solutions.inspection.errors import InspectionError
from aion.solutions.inspection.runners import FeatureRunner, OnnxRunner, TorchRunner


class FeatureGraph(Protocol):
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dims: list[int]  # channels of each level, in the order the features concatenate them
    blocks: list[int]  # EfficientNet-Lite0 block numbers (model file information)
    layers: list[str]  # an ONNX backbone's feature maps (model file information)

    def onnx(self, feature_scale: np.ndarray | None = None) -> bytes: ...

    def runner(self, onnx: bytes, threads: int | None) -> FeatureRunner: ...


class TorchGraph:
    """A built-in backbone: a torch module, exported to ONNX for speed and for the model file."""

    def __init__(self, cfg: TrainConfig) -> None:
        try:
            import torch
        except ImportError as e:  # an install without the "train" extra
            raise InspectionError(
                f"내장 백본({cfg.backbone})으로 학습하려면 torch가 필요합니다: pip install 'aion[train]' "
                "(ONNX 백본은 torch 없이 학습) / "
                f"Training with the built-in backbone {cfg.backbone} needs torch: "
                "pip install 'aion[train]' (an ONNX backbone trains without it)"
            ) from e
        from aion.solutions.inspection.backbones import BACKBONES, PatchGraph, build_backbone, level_dims

        if cfg.threads:
            torch.set_num_threads(cfg.threads)

        weights = Path(cfg.weights) if cfg.weights else None
        module = build_backbone(cfg.backbone, cfg.resolution, weights, cfg.blocks)
        spec = BACKBONES[cfg.backbone]
        self.mean, self.std = spec.mean, spec.std
        self.graph = PatchGraph(module, spec.mean, spec.std).eval()
        self.dims = level_dims(module)
        self.blocks = list(getattr(module, "levels", ()))
        self.layers: list[str] = []
        self.resolution = cfg.resolution

    def onnx(self, feature_scale: np.ndarray | None = None) -> bytes:
        from aion.solutions.inspection.backbones import export_onnx

        if feature_scale is not None:
            self.graph.set_feature_scale(feature_scale)
        return export_onnx(self.graph, self.resolution)

    def runner(self, onnx: bytes, threads: int | None) -> FeatureRunner:
        """The torch module itself (``TorchRunner``), holding ``onnx`` as its export."""
        runner = TorchRunner(self.graph, self.resolution)
        runner._onnx = onnx
        return runner


class OnnxGraph:
    """A user's ONNX backbone, cut after its feature maps and wrapped in ONNX (no torch)."""

    def __init__(self, cfg: TrainConfig) -> None:
        from aion.solutions.inspection import onnxbackbone

        if cfg.weights is None:
            raise InspectionError(
                "--backbone onnx에는 --weights 파일(.onnx)이 필요합니다 / "
                "--backbone onnx needs a --weights file (.onnx)"
            )
        if cfg.pixel_norm not in onnxbackbone.PIXEL_NORMS:
            valid = ", ".join(onnxbackbone.PIXEL_NORMS)
            raise InspectionError(
                f"알 수 없는 pixel_norm: {cfg.pixel_norm} (가능: {valid}) / "
                f"Unknown pixel_norm: {cfg.pixel_norm} (valid: {valid})"
            )
        check_resolution(cfg.resolution)
        self.model = onnxbackbone.read_model(cfg.weights)
        maps = onnxbackbone.feature_maps(self.model, cfg.resolution)
        self.levels = onnxbackbone.choose_levels(maps, cfg.layers)
        self.mean, self.std = onnxbackbone.PIXEL_NORMS[cfg.pixel_norm]
        self.dims = [m.channels for m in self.levels]
        self.blocks: list[int] = []
        self.layers = [m.name for m in self.levels]
        self.resolution = cfg.resolution

    def onnx(self, feature_scale: np.ndarray | None = None) -> bytes:
        from aion.solutions.inspection.onnxgraph import patch_graph

        return patch_graph(self.model, self.resolution, self.levels, self.mean, self.std, feature_scale)

    def runner(self, onnx: bytes, threads: int | None) -> FeatureRunner:
        return OnnxRunner(onnx, threads)


def level_scale(features: np.ndarray, dims: list[int], chunk: int = 65536) -> np.ndarray:
    """Per-channel factors giving every level the same mean squared patch norm (1) on ``features``
    (``(..., D)``; every row counts, so the factors do not depend on the row order).

    >>> f = np.concatenate([np.ones((10, 2)), 10 * np.ones((10, 3))], axis=1).astype(np.float32)
    >>> [round(float(x), 4) for x in level_scale(f, [2, 3])]
    [0.7071, 0.7071, 0.0577, 0.0577, 0.0577]
    """
    flat = features.reshape(-1, features.shape[-1])
    sums = np.zeros(len(dims), dtype=np.float64)
    bounds = np.concatenate([[0], np.cumsum(dims)])
    for s in range(0, len(flat), chunk):
        sq = np.square(flat[s : s + chunk], dtype=np.float32)
        sums += [
            float(sq[:, a:b].sum(dtype=np.float64)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    ms = sums / max(len(flat), 1)
    return np.concatenate(
        [np.full(d, 1.0 / np.sqrt(m) if m > 0 else 1.0) for d, m in zip(dims, ms, strict=True)]
    ).astype(np.float32)


def feature_graph(cfg: TrainConfig) -> FeatureGraph:
    """The graph for ``cfg.backbone`` (``"onnx"``: the file in ``cfg.weights``)."""
    if cfg.backbone != "onnx" and (cfg.layers or cfg.pixel_norm != TrainConfig.pixel_norm):
        raise InspectionError(
            f"layers, pixel_norm은 --backbone onnx 전용 ({cfg.backbone}) / "
            f"layers and pixel_norm are for --backbone onnx only (not {cfg.backbone})"
        )
    return OnnxGraph(cfg) if cfg.backbone == "onnx" else TorchGraph(cfg)
