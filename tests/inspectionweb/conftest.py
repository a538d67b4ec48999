"""A tiny inspection model trained once on generated textures, registered for a company through the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inspectionweb.tools import N_NG, N_OK
from tests.platform.helpers import png


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained on exactly the images ``image_zip_bytes(tmp, N_OK, N_NG)`` uploads (64 px, one thread)."""
    import torch

    from aion.solutions.inspection import TrainConfig, train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("train")
    for i in range(N_OK):
        (root / "ok").mkdir(exist_ok=True)
        (root / "ok" / f"{i}.png").write_bytes(png(i))
    for i in range(N_NG):
        (root / "ng").mkdir(exist_ok=True)
        (root / "ng" / f"{i}.png").write_bytes(png(500 + i, defect=True))
    # 20% held back (one image), the others building the bank: the pages' held-back note and
    # scores; a set this small calibrates on every image by default (``pooled_model_file``)
    model = train(root, TrainConfig(resolution=64, threads=1, min_bank_size=300, min_calibration_images=0))
    return model.save(root / "model.aion")


@pytest.fixture(scope="session")
def pooled_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained on 30 good images, all calibrating (each left out in turn, the default for a set
    this small): enough for the standardised pooled image score."""
    import torch

    from aion.solutions.inspection import TrainConfig, train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("train-pooled")
    (root / "ok").mkdir()
    for i in range(30):
        (root / "ok" / f"{i}.png").write_bytes(png(i))
    model = train(root, TrainConfig(resolution=64, threads=1, min_bank_size=300))
    assert model.meta.score_fractions
    return model.save(root / "model.aion")


@pytest.fixture(scope="session")
def aligned_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained with an inspection area that follows the part (``align.py``): a box inside the photo."""
    import torch

    from aion.solutions.inspection import TrainConfig, train
    from aion.solutions.inspection.area import Box, InspectionArea

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("train-aligned")
    (root / "ok").mkdir()
    for i in range(N_OK):
        (root / "ok" / f"{i}.png").write_bytes(png(i))
    area = InspectionArea(Box(0.1, 0.1, 0.9, 0.9), align=True)
    model = train(root, TrainConfig(resolution=64, threads=1, min_bank_size=300, area=area))
    return model.save(root / "model.aion")
