"""Synthetic inspection data made by the tests: textures with scratches and spots (never real data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

SIZE = 96
RESOLUTION = 96


def texture(rng: np.random.Generator, size: int = SIZE, color: bool = False) -> np.ndarray:
    """A regular woven texture with mild noise and lighting changes."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    phase = rng.uniform(0, 2 * np.pi, 2)
    base = 128 + 40 * np.sin(x / 3.0 + phase[0]) * np.sin(y / 3.0 + phase[1])
    base += rng.normal(0, 6, (size, size)) + rng.uniform(-10, 10)
    img = np.clip(base, 0, 255).astype(np.uint8)
    if color:
        return np.stack([img, (img * 0.8).astype(np.uint8), (img * 0.6).astype(np.uint8)], axis=2)
    return img


def add_defect(img: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Draw a scratch (bright line) or a spot (dark disc); return the image and its mask."""
    out = img.copy()
    size = img.shape[0]
    mask = np.zeros((size, size), dtype=bool)
    y, x = np.mgrid[0:size, 0:size]
    if kind == "scratch":
        x0, y0 = rng.uniform(size * 0.2, size * 0.5, 2)
        angle = rng.uniform(0, np.pi)
        dx, dy = np.cos(angle), np.sin(angle)
        t = (x - x0) * dx + (y - y0) * dy
        d = np.abs(-(x - x0) * dy + (y - y0) * dx)
        mask = (d < 1.6) & (t > 0) & (t < size * 0.4)
        out[mask] = 250
    else:
        cx, cy = rng.uniform(size * 0.25, size * 0.75, 2)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < rng.uniform(4, 6) ** 2
        out[mask] = 15
    return out, mask


def quick_train(data: Path, model: Path) -> list[str]:
    """``aion inspect train`` arguments for a quick model of ``data`` written to ``model``."""
    return [
        "train",
        str(data),
        "--out",
        str(model),
        "--resolution",
        "64",
        "--threads",
        "2",
        "--no-check-good",
    ]


def save(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


Defect = Callable[[np.random.Generator, int], tuple[str, np.ndarray, np.ndarray]]


def scratch_or_spot(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, np.ndarray]:
    """The ``i``-th defect image of :func:`make_mvtec` by default: scratches and spots in turn."""
    kind = ("scratch", "spot")[i % 2]
    return (kind, *add_defect(texture(rng), rng, kind))


def make_mvtec(
    root: Path,
    seed: int = 0,
    n_train: int = 14,
    n_test_good: int = 5,
    n_defect: int = 6,
    defect: Defect = scratch_or_spot,
) -> Path:
    """An MVTec-layout set: good textures for training and testing, ``defect(rng, i)`` images
    (kind, image, mask) with their masks."""
    rng = np.random.default_rng(seed)
    for i in range(n_train):
        save(texture(rng), root / "train" / "good" / f"{i:03d}.png")
    for i in range(n_test_good):
        save(texture(rng), root / "test" / "good" / f"{i:03d}.png")
    for i in range(n_defect):
        kind, img, mask = defect(rng, i)
        save(img, root / "test" / kind / f"{i:03d}.png")
        save((mask * 255).astype(np.uint8), root / "ground_truth" / kind / f"{i:03d}_mask.png")
    return root


@pytest.fixture(scope="session")
def mvtec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mvtec(tmp_path_factory.mktemp("mvtec"))


def train_saved(data: Any, out: Path, defects: Any = None, **config: Any):  # noqa: ANN201
    """A model trained on ``data`` at the tests' resolution on two threads (``config``: more
    ``TrainConfig`` fields), its file saved as ``out`` and the file reloaded (ONNX)."""
    import torch

    from aion.solutions.inspection import InspectionModel, TrainConfig, train

    torch.set_num_threads(2)
    model = train(
        data, TrainConfig(resolution=RESOLUTION, threads=2, min_bank_size=200, **config), defects=defects
    )
    path = model.save(out)
    return model, path, InspectionModel.load(path, threads=2)


@pytest.fixture(scope="session")
def trained(mvtec_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One model trained on the synthetic set, its saved file and the reloaded (ONNX) model."""
    # knn="ivf": the inverted-file search real-sized banks get by default (tiny banks use exact
    # search); 20% held back, not every image (3 of 14: too few to standardise the pooled
    # statistics on), so the image score is the top 1% mean that the tests of it read
    return train_saved(
        mvtec_dir,
        tmp_path_factory.mktemp("model") / "tex.aion",
        target_frr=0.0,
        knn="ivf",
        min_calibration_images=0,
    )
