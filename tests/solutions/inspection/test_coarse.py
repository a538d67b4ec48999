"""The coarse-to-fine search (``coarse.py``): training's emulation equals what new parts get, a
defect is measured exactly, and ``search_stride=1`` keeps the full search."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aion.solutions.inspection import InspectionError, load_dataset
from aion.solutions.inspection.coarse import emulate, fill, search_grid, searched
from aion.solutions.inspection.knn import NearestNeighbour

from .conftest import train_saved


@pytest.mark.parametrize("g", [5, 6])
def test_training_emulates_the_search_of_new_parts(g: int) -> None:
    rng = np.random.default_rng(g)
    bank = rng.normal(size=(300, 8)).astype(np.float32)
    # smooth fields of features (neighbouring patches alike), one patch made unlike the bank
    feats = np.cumsum(rng.normal(scale=0.3, size=(4, g, g, 8)), axis=2).astype(np.float32)
    feats[1, 1, 3] += 6.0
    nn = NearestNeighbour(bank, use_faiss=False)
    exact = nn.search(feats.reshape(-1, 8)).reshape(4, g, g)
    level = float(np.quantile(exact, 0.7))
    got = search_grid(nn.search, feats, level)
    np.testing.assert_allclose(got, emulate(exact, level), rtol=1e-6)  # as searched in other batches
    # searched cells and refined cells are exact; the unlike patch is among them
    _, refine = fill(exact[:, ::2, ::2], g, level)
    measured = refine | searched(g)
    np.testing.assert_allclose(got[measured], exact[measured], rtol=1e-6)
    assert measured[1, 1, 3] and got[1, 1, 3] == pytest.approx(exact.max(), rel=1e-6)
    assert 0 < refine.mean() < 1 - searched(g).mean()  # some cells interpolated, some measured


def test_defects_score_as_with_the_full_search(trained, mvtec_dir: Path) -> None:
    _, _, edge = trained
    assert edge.meta.search_stride == 2 and edge.meta.version == 8
    assert np.quantile(edge.held_back_patches_.astype(np.float32), 0.5) < edge.meta.refine_level
    full = type(edge)(
        replace(edge.meta, search_stride=1), edge.memory_bank_, edge.runner, 2, edge.ivf_centroids_
    )
    ds = load_dataset(mvtec_dir)
    bad = [it.load() for it in ds.test if it.label == 1]
    good = [it.load() for it in ds.test if it.label == 0]
    f_bad = edge.patch_features(edge.batch(bad))
    coarse, exact = edge.bank_scores(f_bad), full.bank_scores(f_bad)
    # each defect's farthest patch is measured, not interpolated: the same image maxima
    np.testing.assert_allclose(coarse.max(axis=(1, 2)), exact.max(axis=(1, 2)), rtol=1e-5)
    f_good = edge.patch_features(edge.batch(good))
    g = edge.meta.grid
    grid = f_good.reshape(len(good), g, g, -1)
    coarse_good = edge.nn.search(np.ascontiguousarray(grid[:, ::2, ::2]).reshape(-1, grid.shape[3]))
    _, refine = fill(coarse_good.reshape(len(good), (g + 1) // 2, -1), g, edge.meta.refine_level)
    assert (refine | searched(g)).mean() < 0.6  # good parts: most patches interpolated
    # every test image is still told apart at the model's threshold as with the full search
    assert [p.is_defect for p in edge.predict(bad)] == [p.is_defect for p in full.predict(bad)]


def test_stride_one_searches_every_patch(mvtec_dir: Path, tmp_path: Path) -> None:
    _, _, edge = train_saved(mvtec_dir, tmp_path / "full.aion", search_stride=1)
    assert edge.meta.search_stride == 1 and edge.meta.version == 4 and edge.meta.refine_level == 0.0
    with pytest.raises(InspectionError, match="search_stride must be 1 or 2"):
        train_saved(mvtec_dir, tmp_path / "bad.aion", search_stride=3)
