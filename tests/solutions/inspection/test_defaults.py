"""The PatchCore choices behind the defaults: bank from every good image, level normalisation,
top-fraction image score, backbone levels, and reading model files of the previous format."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from aion.solutions.inspection import (
    InspectionError,
    InspectionModel,
    ModelFileError,
    TrainConfig,
    evaluate,
    train,
)
from aion.solutions.inspection.backbones import build_backbone, export_onnx, level_dims
from aion.solutions.inspection.data import fingerprint, load_dataset
from aion.solutions.inspection.images import is_grey
from aion.solutions.inspection.meta import FORMAT_VERSION
from aion.solutions.inspection.metrics import auroc
from aion.solutions.inspection.scoring import combined_scores, image_scores, pooled_scores
from aion.solutions.inspection.training import _split

from .conftest import RESOLUTION, make_mvtec, save, texture


def test_held_back_images_join_the_bank_after_calibration(tmp_path: Path) -> None:
    root = make_mvtec(tmp_path / "set", seed=3, n_train=10, n_test_good=1, n_defect=1)
    # a bank as large as all patches: every patch of every good image is kept; 20% held back
    # (a set this small holds back every image by default: the next test)
    cfg = TrainConfig(
        resolution=64, threads=2, min_bank_size=100_000, target_frr=0.0, knn="exact", min_calibration_images=0
    )
    model = train(root, cfg)
    rep = model.train_report_
    grid = model.meta.grid
    assert rep.n_fit_images == 8 and rep.n_calibration_images == 2
    assert rep.n_patches == 10 * grid * grid
    assert len(model.memory_bank_) == rep.n_patches == rep.bank_size
    assert model.meta.n_train_images == 10
    # calibration scored the held-back images against the other images' bank: non-zero scores
    assert min(model.meta.calibration["good_scores"]) > 0.1
    # ... and now they are in the bank: a held-back image scores zero everywhere
    ds = load_dataset(root)
    _, cal = _split(10, cfg.holdout_fraction, cfg.seed)
    held = [ds.train[i].load() for i in cal]
    raw, maps = model.raw_maps(held)
    assert np.abs(maps).max() < 1e-2 and raw.max() < 1e-2
    # the model names the held-back images its calibration scores belong to, in their order
    assert model.meta.calibration["good_fingerprints"] == [fingerprint(ds.train[i].read_bytes()) for i in cal]
    assert len(model.meta.calibration["good_scores"]) == 2


def test_a_small_set_calibrates_on_every_image_left_out_in_turn(tmp_path: Path) -> None:
    """Up to ``min_calibration_images`` good images: every one sets the threshold, each scored
    against the bank less its own patches, so ten images give ten scores as new parts (two when
    20% are held back: a 1-in-3 false-reject rate at best instead of 1 in 11)."""
    root = make_mvtec(tmp_path / "set", seed=3, n_train=10, n_test_good=1, n_defect=1)
    cfg = TrainConfig(resolution=64, threads=2, min_bank_size=100_000, target_frr=0.0, knn="exact")
    assert cfg.min_calibration_images == 100
    model = train(root, cfg)
    rep, cal = model.train_report_, model.meta.calibration
    assert rep.n_fit_images == rep.n_calibration_images == 10 and len(cal["good_scores"]) == 10
    assert len(model.memory_bank_) == rep.n_patches  # every patch of every image is in the bank
    ds = load_dataset(root)
    assert cal["good_fingerprints"] == [fingerprint(it.read_bytes()) for it in ds.train]
    _, maps = model.raw_maps([it.load() for it in ds.train])
    assert np.abs(maps).max() < 1e-2  # against the bank with their own patches: zero
    # ... and without them, as a new part would score: the patch distances calibration measured
    held = model.held_back_patches_
    assert held is not None and len(held) == 10 and held.reshape(10, -1).max(axis=1).min() > 0.1
    # ten scores: enough for the pooled statistics' spread
    assert model.meta.score_fractions == [0.01, 0.1, 1.0]
    assert f"{1 / 11:.1%}" in rep.warnings[0]  # target 0: the floor a new part meets
    # on its own images, evaluate counts every good image at its left-out score, none left out
    report = evaluate(model, root, items=ds.train)
    assert (report.n_held_back, report.n_in_bank) == (10, 0)
    assert sorted(r.raw_score for r in report.images if r.label == 0) == sorted(cal["good_scores"])


def test_image_score_is_the_mean_of_the_top_fraction(trained, mvtec_dir: Path) -> None:
    _, _, edge = trained
    assert edge.meta.top_fraction == TrainConfig().top_fraction == 0.01
    images = [it.load() for it in load_dataset(mvtec_dir).test]
    raw, maps = edge.raw_maps(images)
    k = round(0.01 * RESOLUTION * RESOLUTION)
    expected = np.sort(maps.reshape(len(maps), -1), axis=1)[:, -k:].mean(axis=1)
    np.testing.assert_allclose(raw, expected, rtol=1e-5)
    assert (raw < maps.reshape(len(maps), -1).max(axis=1)).all()
    # 0 keeps PatchCore's maximum of the map
    np.testing.assert_array_equal(image_scores(maps, 0.0), maps.reshape(len(maps), -1).max(axis=1))


def test_image_score_pools_shares_of_the_map_standardised_on_good_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    root = make_mvtec(tmp_path / "set", seed=5, n_train=40, n_test_good=8, n_defect=4)
    for i in range(6):  # a wrong finish all over the part: the texture's contrast lowered
        img = np.clip(128 + 0.6 * (texture(rng).astype(np.float64) - 128), 0, 255).astype(np.uint8)
        save(img, root / "test" / "finish" / f"{i:03d}.png")
    # 20% held back: 8 images, enough good images to standardise on
    model = train(root, TrainConfig(resolution=RESOLUTION, threads=2, min_calibration_images=0))
    meta = model.meta
    assert model.train_report_.n_calibration_images == 8
    assert meta.score_fractions == [0.01, 0.1, 1.0] and len(meta.score_mean) == len(meta.score_std) == 3
    assert all(s > 0 for s in meta.score_std)
    test = load_dataset(root).test
    images = [it.load() for it in test]
    labels = np.array([it.label for it in test])
    kinds = np.array([it.kind for it in test])
    raw, maps = model.raw_maps(images)
    pooled = pooled_scores(maps, meta.score_fractions)
    np.testing.assert_allclose(raw, combined_scores(pooled, meta.score_mean, meta.score_std), rtol=1e-5)
    np.testing.assert_allclose(pooled[:, 0], image_scores(maps, 0.01), rtol=1e-6)  # the local statistic
    # the diffuse defect is told from good parts better by the pooled score than by the top 1%
    diffuse = (kinds == "finish") | (kinds == "good")
    assert auroc(labels[diffuse], raw[diffuse]) > auroc(labels[diffuse], pooled[diffuse, 0])
    # heat maps and regions are read on the map's scale: the top-1% statistic at the same z
    t = meta.threshold
    assert model.map_level(t) == pytest.approx(meta.score_mean[0] + t * meta.score_std[0])
    preds = model.predict(images)
    local = [p for p, k in zip(preds, kinds, strict=True) if k in ("scratch", "spot") and not p.passed]
    assert local and all(p.regions and p.anomaly_map.max() > 0.5 for p in local)
    assert all(p.anomaly_map.max() <= 0.5 for p in preds if p.passed)
    # each prediction names its statistics (standard deviations of good images) and the deciding one
    for p, r in zip(preds, raw, strict=True):
        assert list(p.statistics) == ["top_1%", "top_10%", "whole_map"]
        assert max(p.statistics.values()) == pytest.approx(float(r), abs=1e-4)
        assert p.to_dict()["cause"] == p.cause == max(p.statistics, key=lambda k: p.statistics[k])
    assert {p.cause for p, k in zip(preds, kinds, strict=True) if k == "finish"} - {"top_1%"}
    # the statistics travel in the model file (format 4)
    edge = InspectionModel.load(model.save(tmp_path / "m.aion"))
    assert edge.meta.version == 8 and edge.meta.score_std == meta.score_std
    np.testing.assert_allclose(edge.raw_maps(images)[0], raw, atol=1e-2)
    # without pooled shares the image score is the top fraction's alone
    single = train(root, TrainConfig(resolution=RESOLUTION, threads=2, pooled_fractions=()))
    assert single.meta.score_fractions == []
    raw1, maps1 = single.raw_maps(images)
    np.testing.assert_allclose(raw1, image_scores(maps1, 0.01), rtol=1e-6)
    assert single.predict(images[:1])[0].cause is None
    # by default a set this small calibrates on all 40 images, each left out in turn
    every = train(root, TrainConfig(resolution=RESOLUTION, threads=2))
    assert (
        every.train_report_.n_calibration_images == 40 and every.meta.score_fractions == meta.score_fractions
    )
    with pytest.raises(InspectionError, match="pooled_fractions"):
        train(root, TrainConfig(resolution=RESOLUTION, pooled_fractions=(0.1, 2.0)))


def test_levels_are_normalised_to_the_same_mean_norm(trained, mvtec_dir: Path) -> None:
    model, _, _ = trained
    dims = level_dims(model.runner.module)
    scale = np.asarray(model.meta.feature_scale, dtype=np.float32)
    assert dims == [40, 112] and len(scale) == sum(dims) == model.meta.feature_dim
    images = [it.load() for it in load_dataset(mvtec_dir).train]
    feats = model.patch_features(model.batch(images))
    feats = feats.reshape(-1, feats.shape[-1])
    fine, coarse = feats[:, :40], feats[:, 40:]
    assert np.mean((fine**2).sum(1)) == pytest.approx(1.0, rel=1e-3)
    assert np.mean((coarse**2).sum(1)) == pytest.approx(1.0, rel=1e-3)
    # without it the levels weigh differently in the distances (mean squared norms per patch);
    # the factors are applied inside the exported graph
    raw = feats / scale
    fine_raw, coarse_raw = np.mean((raw[:, :40] ** 2).sum(1)), np.mean((raw[:, 40:] ** 2).sum(1))
    assert max(fine_raw, coarse_raw) > 1.3 * min(fine_raw, coarse_raw)
    plain = train(mvtec_dir, TrainConfig(resolution=64, threads=2, min_bank_size=100, level_norm=False))
    assert plain.meta.feature_scale == []


def test_stride4_level_exports_within_tolerance(tmp_path: Path, mvtec_dir: Path) -> None:
    cfg = TrainConfig(resolution=64, threads=2, min_bank_size=100, blocks=(2, 4, 10), knn="exact")
    model = train(mvtec_dir, cfg)
    assert model.meta.blocks == [2, 4, 10] and model.meta.feature_dim == 24 + 40 + 112
    edge = InspectionModel.load(model.save(tmp_path / "b.aion"), threads=2)
    images = [it.load() for it in load_dataset(mvtec_dir).test]
    raw_t, maps_t = model.raw_maps(images)
    raw_o, maps_o = edge.raw_maps(images)
    assert np.abs(raw_t - raw_o).max() < 1e-3 and np.abs(maps_t - maps_o).max() < 1e-3
    with pytest.raises(InspectionError, match="0-15"):
        build_backbone("efficientnet-lite0", 64, blocks=(4, 99))


def test_previous_format_files_still_score_with_the_map_maximum(
    trained, tmp_path: Path, mvtec_dir: Path
) -> None:
    _, path, edge = trained
    images = [it.load() for it in load_dataset(mvtec_dir).test]
    _, maps = edge.raw_maps(images)
    # files written before format 3 ship a graph of normalised floats in, (N, D, h, w) out
    bare = export_onnx(trained[0].runner.module.features, RESOLUTION)

    def rewrite(dst: Path, version: int, drop: tuple[str, ...]) -> InspectionModel:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(dst, "w") as out:
            for name in src.namelist():
                data = src.read(name)
                if name == "meta.json":
                    meta = {k: v for k, v in json.loads(data).items() if k not in drop}
                    data = json.dumps({**meta, "version": version}).encode()
                out.writestr(name, bare if name == "backbone.onnx" else data)
        return InspectionModel.load(dst)

    # version 2: the same bank and level factors, applied outside the graph: the same maps
    v2 = rewrite(tmp_path / "v2.aion", 2, ("graph_input",))
    raw2, maps2 = v2.raw_maps(images)
    assert np.abs(maps2 - maps).max() < 1e-3
    # version 1: no top fraction, no level factors (its bank was built unscaled)
    v1 = rewrite(tmp_path / "v1.aion", 1, ("top_fraction", "feature_scale", "blocks", "graph_input"))
    assert v1.meta.top_fraction == 0.0 and v1.meta.feature_scale == []
    raw1, maps1 = v1.raw_maps(images)
    np.testing.assert_allclose(raw1, maps1.reshape(len(maps1), -1).max(axis=1))
    assert not np.allclose(maps1, maps)  # unscaled features: another distance scale
    # a file from a newer engine is refused by name
    newer = tmp_path / "newer.aion"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(newer, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "meta.json":
                data = json.dumps({**json.loads(data), "version": FORMAT_VERSION + 1}).encode()
            dst.writestr(name, data)
    with pytest.raises(ModelFileError, match=f"v{FORMAT_VERSION + 1}"):
        InspectionModel.load(newer)


def _static_channel_graph(module: torch.nn.Module) -> bytes:
    """A format-3 graph as files before the grey path have it: three channels, fixed."""
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dummy = torch.zeros(1, RESOLUTION, RESOLUTION, 3, dtype=torch.uint8)
        torch.onnx.export(
            module,
            (dummy,),
            buf,
            input_names=["image"],
            output_names=["features"],
            dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def test_grey_images_run_as_one_channel_with_the_same_maps(trained, tmp_path: Path, mvtec_dir: Path) -> None:
    model, path, edge = trained
    images = [it.load() for it in load_dataset(mvtec_dir).test]
    # grey files decode to a read-only view of one plane: no copy, known grey at once
    assert all(im.shape[2] == 3 and im.strides[2] == 0 and is_grey(im) for im in images)
    with pytest.raises(ValueError, match="read-only"):
        images[0][0, 0, 0] = 1
    assert edge.runner.grey_input and model.runner.grey_input
    assert edge.batch(images).shape == (len(images), RESOLUTION, RESOLUTION, 1)
    raw, maps = edge.raw_maps(images)
    # the same pixels as three stored channels (how other readers give them): the same maps
    copies = [np.ascontiguousarray(im) for im in images]
    assert copies[0].strides[2] == 1 and edge.batch(copies).shape[-1] == 1
    np.testing.assert_array_equal(edge.raw_maps(copies)[1], maps)
    # a batch that mixes grey and colour images gets three channels; the grey ones score alike
    colour = np.ascontiguousarray(images[0]).copy()
    colour[..., 2] //= 2
    mixed = edge.batch([colour, *images])
    assert mixed.shape[-1] == 3 and (mixed[1:] == mixed[1:, ..., :1]).all()
    raw_mixed, maps_mixed = edge.raw_maps([colour, *images], batch_size=len(images) + 1)
    assert np.abs(maps_mixed[1:] - maps).max() < 1e-5
    assert np.abs(maps_mixed[0] - maps[0]).max() > 1e-3  # the colour change is seen
    # a format-3 file whose graph takes three channels only: grey images are spread to three
    old = tmp_path / "three.aion"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(
                name, _static_channel_graph(model.runner.module) if name == "backbone.onnx" else data
            )
    three = InspectionModel.load(old, threads=2)
    assert not three.runner.grey_input
    assert three.batch(images).shape == (len(images), RESOLUTION, RESOLUTION, 3)
    raw3, maps3 = three.raw_maps(images)
    assert np.abs(maps3 - maps).max() < 1e-5 and np.abs(raw3 - raw).max() < 1e-5
