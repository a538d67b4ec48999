"""The defect head beside the memory bank: trained from a few labelled masks, it must help on
images it did not learn from, travel in the model file, and stay out of the evaluation."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aion.solutions.inspection.head import DefectHead, patch_cover, window_mean

from .conftest import RESOLUTION, SIZE, make_mvtec, save, texture, train_saved


def stained(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A texture with a large, faint, darker patch: a stain or an uneven finish (its mask)."""
    img = texture(rng, size).astype(np.float64)
    y, x = np.mgrid[0:size, 0:size]
    cx, cy = rng.uniform(size * 0.3, size * 0.7, 2)
    ry, rx = rng.uniform(size * 0.15, size * 0.25, 2)
    mask = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0
    img[mask] = 128 + (img[mask] - 128) * 0.55 - 14  # flatter weave, a little darker
    return np.clip(img, 0, 255).astype(np.uint8), mask


def make_stains(root: Path) -> Path:
    """30 good training textures, 8 good and 12 stained test images with masks."""
    return make_mvtec(root, 3, 30, 8, 12, defect=lambda rng, _i: ("stain", *stained(rng, SIZE)))


@pytest.fixture(scope="module")
def stains(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_stains(tmp_path_factory.mktemp("stains"))


@pytest.fixture(scope="module")
def head_model(stains: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The same set trained without and with 5 labelled stains; the second saved and reloaded."""
    from aion.solutions.inspection import load_dataset
    from aion.solutions.inspection.data import sample_defects

    ds = load_dataset(stains)
    out = tmp_path_factory.mktemp("head")
    plain = train_saved(ds, out / "plain.aion")[0]
    model, path, edge = train_saved(ds, out / "stain.aion", defects=sample_defects(ds, 5))
    return plain, model, path, edge


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 2), (4, 4), (1, None), (None, 2), (None, None)])
def test_window_mean_is_the_mean_of_each_clipped_window(rows: int | None, cols: int | None) -> None:
    """Square windows, bands across the whole image (``None``: the whole axis) and the image mean."""
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(2, 7, 9, 3)).astype(np.float32)
    rh, rw = rows if rows is not None else 7, cols if cols is not None else 9
    naive = np.empty_like(maps)
    for i in range(7):
        for j in range(9):
            naive[:, i, j] = maps[:, max(i - rh, 0) : i + rh + 1, max(j - rw, 0) : j + rw + 1].mean(
                axis=(1, 2)
            )
    assert np.allclose(window_mean(maps, rows, cols), naive, atol=1e-5)
    assert np.allclose(window_mean(maps[..., 0], rows, cols), naive[..., 0], atol=1e-5)


@pytest.mark.parametrize(
    "radii, strips, image_mean", [((2, 4), (), True), ((1, 2, 4), (1,), False), ((2, 4, 8), (0, 2), True)]
)
def test_head_scores_as_its_inputs_say(
    radii: tuple[int, ...], strips: tuple[int, ...], image_mean: bool
) -> None:
    """The fast scoring (one projection, window means of scalar maps) equals the logistic model
    over the explicit inputs it was fitted on, for any windows (format 5 heads have two radii and
    the image mean, format 6 ones any radii, format 7 ones bands too), also after a round trip
    through its stored form."""
    from aion.solutions.inspection.head import _inputs

    rng = np.random.default_rng(1)
    feats = rng.normal(size=(5, 36, 4)).astype(np.float32)
    scores = rng.random((5, 6, 6)).astype(np.float32)
    cover = np.zeros((5, 6, 6), np.float32)
    cover[:3, 1:3, 2:5] = 1.0
    feats.reshape(5, 6, 6, 4)[:3, 1:3, 2:5, 1] -= 2.0
    head = DefectHead(radii=radii, strips=strips, image_mean=image_mean).fit(feats, scores, cover)
    k = len(radii) + 2 * len(strips) + image_mean + 1
    assert head.weights_ is not None and head.weights_.shape == (k, 4) and len(head.windows) == k - 1
    coef = np.concatenate([head.weights_.reshape(-1), head.score_weights_])
    explicit = (_inputs(feats, scores, head.windows) @ coef + head.bias_).reshape(5, 6, 6)
    assert np.allclose(head.score(feats, scores), explicit, atol=1e-4)
    assert head.score(feats, scores)[cover > 0].mean() > head.score(feats, scores)[cover == 0].mean() + 2
    stored = json.loads(json.dumps(head.to_dict()))
    again = DefectHead.from_dict(stored, head.weights_)
    assert (again.radii, again.strips, again.image_mean) == (radii, strips, image_mean)
    assert np.array_equal(again.score(feats, scores), head.score(feats, scores))
    if not strips and image_mean:  # as a format 5 or 6 file stores it: neither key
        old = DefectHead.from_dict(
            {k: v for k, v in stored.items() if k not in ("strips", "image_mean")}, head.weights_
        )
        assert np.array_equal(old.score(feats, scores), head.score(feats, scores))


def test_head_weights_that_do_not_match_its_radii_are_refused() -> None:
    from aion.solutions.inspection import InspectionError

    stored = {"radii": [2, 4], "score_weights": [0.0] * 4, "bias": 0.0}  # a format 5 head
    assert DefectHead.from_dict(stored, np.zeros((4, 3))).radii == (2, 4)
    with pytest.raises(InspectionError, match=r"\(5, 3\).*\[2, 4\]"):
        DefectHead.from_dict(stored, np.zeros((5, 3)))


def test_each_class_of_patches_is_capped_by_sampling() -> None:
    """However many masks are given, a head is fitted on at most ``max_negatives`` normal and
    ``max_positives`` defect patches; a class under its cap is kept whole."""
    from aion.solutions.inspection.head import fit_rows

    defect = np.random.default_rng(3).random(10_000) < 0.3
    rows = fit_rows(defect, 500, 200, seed=1)
    assert np.array_equal(rows, np.unique(rows))
    assert (~defect[rows]).sum() == 500 and defect[rows].sum() == 200
    whole = fit_rows(defect, 500, 5_000)
    assert np.array_equal(whole[defect[whole]], np.flatnonzero(defect))
    # the head itself keeps to the caps and still learns the defect
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(12, 64, 3)).astype(np.float32)
    cover = np.zeros((12, 8, 8), np.float32)
    cover[:6, :4, :] = 1.0
    feats.reshape(12, 8, 8, 3)[:6, :4, :, 0] += 3.0
    head = DefectHead(max_negatives=100, max_positives=50).fit(feats, np.zeros((12, 8, 8), np.float32), cover)
    logits = head.score(feats, np.zeros((12, 8, 8), np.float32))
    assert logits[cover > 0].mean() > logits[cover == 0].mean() + 2


def test_copies_of_an_image_share_its_calibration_fold() -> None:
    """An image's flipped copies are scored out of fold only if no head that scores them learned
    from a copy: with ``groups``, a defect seen in one image alone (and its copy) is new to the
    head that scores it; without, the copy in the other fold teaches it."""
    from aion.solutions.inspection.head import cross_fitted

    rng = np.random.default_rng(2)
    feats = rng.normal(size=(8, 16, 4)).astype(np.float32)
    cover = np.zeros((8, 4, 4), np.float32)
    cover[:4, :2, :2] = 1.0
    feats.reshape(8, 4, 4, 4)[:4, :2, :2, 0] += 4.0  # the common defect, in channel 0
    feats.reshape(8, 4, 4, 4)[0, 2:, 2:, 1] += 8.0  # image 0 alone: a defect in channel 1
    cover[0, 2:, 2:] = 1.0
    feats[1], cover[1] = feats[0], cover[0]  # image 1: a copy of image 0
    scores = np.zeros((8, 4, 4), np.float32)
    apart = cross_fitted(feats, scores, cover, DefectHead(), groups=np.arange(8))[1]
    together = cross_fitted(feats, scores, cover, DefectHead(), groups=np.array([0, 0, 2, 3, 4, 5, 6, 7]))[1]
    assert apart[0, 2:, 2:].mean() > together[0, 2:, 2:].mean() + 2


def test_head_needs_defect_and_normal_patches() -> None:
    from aion.solutions.inspection import InspectionError

    feats = np.zeros((2, 4, 3), np.float32)
    with pytest.raises(InspectionError, match="defect and normal"):
        DefectHead().fit(feats, np.zeros((2, 2, 2), np.float32), np.zeros((2, 2, 2), np.float32))
    with pytest.raises(InspectionError, match="not fitted"):
        DefectHead().score(feats, np.zeros((2, 2, 2), np.float32))


def test_box_cells_the_bank_finds_normal_teach_neither_class() -> None:
    from aion.solutions.inspection.headfit import unsure_in_boxes

    rng = np.random.default_rng(0)
    n, g, d = 12, 8, 4
    feats = rng.normal(size=(n, g * g, d)).astype(np.float32)
    grid = feats.reshape(n, g, g, d)
    grid[:6, 2:4, 2:4, 0] += 4.0  # the defect, in channel 0
    masks = np.zeros((n, g * 4, g * 4), bool)
    masks[:6, 4:24, 4:24] = True  # a box over the defect and a ring of good surface round it
    grid[:6, 1:6, 1:6, 1] += 3.0  # a good finish (channel 1) round the defect...
    grid[:6, 2:4, 2:4, 1] -= 3.0
    grid[6:, 1:6, 1:6, 1] += 3.0  # ... that good parts have too
    bank = np.zeros((n, g, g), np.float32)
    bank[:6, 2:4, 2:4] = 1.0  # the bank finds the defect; the rest of its box looks normal
    boxes = np.arange(n) < 6  # the images whose masks are boxes (``ImageItem.mask_is_box``)
    box_cover = patch_cover(masks, g)
    cover = unsure_in_boxes(box_cover, bank, boxes, level=0.5)
    assert np.isnan(cover[0, 1, 1]) and cover[0, 2, 2] == 1.0 and not np.isnan(cover[6:]).any()
    lift = {}
    for name, c in (("box", box_cover), ("unsure", cover)):
        logits = DefectHead(radii=(), strips=()).fit(feats, bank, c).score(feats, bank)
        # the good parts' finish against their other surface
        lift[name] = float(logits[6:, 1:6, 1:6].mean() - logits[6:, 6:, 6:].mean())
    # taught by the box that the finish is a defect, a head rates it on good parts; not so here
    assert lift["box"] > 1.0 and lift["unsure"] < 0.5 * lift["box"]


def test_patch_cover_is_the_masked_share_of_each_cell() -> None:
    mask = np.zeros((1, 16, 16), bool)
    mask[0, :4, :6] = True
    cover = patch_cover(mask, 2)
    assert cover[0].tolist() == [[0.375, 0.0], [0.0, 0.0]]


def test_labelled_masks_help_on_images_the_head_did_not_learn_from(head_model, stains: Path) -> None:
    from aion.solutions.inspection import evaluate, load_dataset

    plain, model, _, _ = head_model
    rep = model.train_report_
    assert rep.n_head_images == 5 and len(model.meta.head_images) == 5
    assert rep.seconds["defect_head"] > 0
    # the gain measured in training, out of fold on the head's own images, shows already
    assert rep.head_gain["pixel_auroc_head"] > rep.head_gain["pixel_auroc_bank"]
    ds = load_dataset(stains)
    with_head = evaluate(model, ds)
    assert with_head.n_left_out == 5 and with_head.n_images == 8 + 12 - 5
    left = [it for it in ds.test if it.key not in set(model.meta.head_images)]
    without = evaluate(plain, ds, items=left)
    # the bank's own map, measured beside the combined one, is the plain model's map
    assert with_head.pixel_auroc_bank == pytest.approx(without.pixel_auroc, abs=0.02)
    assert with_head.pixel_auroc > without.pixel_auroc + 0.02  # 0.944 -> 0.986 when written
    assert with_head.aupro > without.aupro + 0.05  # 0.81 -> 0.95
    assert with_head.image_auroc >= without.image_auroc - 0.02


def test_head_travels_in_the_model_file_and_scores_alike_after_export(
    head_model, stains: Path, tmp_path: Path
) -> None:
    from aion.solutions.inspection import InspectionModel, load_dataset

    _, model, path, edge = head_model
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("meta.json"))
        assert "defect_head.npy" in zf.namelist()
    # a head reads every patch's distance: its model searches every patch (no coarse pass)
    assert (
        meta["version"] == 7
        and meta["search_stride"] == 1
        and set(meta["defect_head"])
        >= {
            "bank_mean",
            "bank_std",
            "head_mean",
            "head_std",
        }
    )
    assert meta["defect_head"]["radii"] == [2, 4, 8, 16] and meta["defect_head"]["flips"] is True
    assert meta["defect_head"]["strips"] == [1] and meta["defect_head"]["image_mean"] is False
    assert meta["defect_head"]["combine"] == "logaddexp"
    assert edge.defect_head_ is not None and edge.defect_head_.windows == model.defect_head_.windows
    images = [it.load() for it in load_dataset(stains).test[:6]]
    raw_t, maps_t = model.raw_maps(images)
    raw_e, maps_e = edge.raw_maps(images)
    assert np.abs(maps_t - maps_e).max() < 1e-3
    assert np.abs(raw_t - raw_e).max() < 1e-3
    # the head changes the map: the bank's distances alone give another one
    bank_only = edge.anomaly_maps(edge.score_batch(images).bank)
    assert np.abs(bank_only - maps_e).max() > 0.1
    # the head's logits join the distances by a soft maximum; a format 5 or 6 file stores no rule,
    # and its head is summed with them, as it was
    feats = edge.patch_features(edge.batch(images))
    bank = edge.bank_scores(feats)
    h = meta["defect_head"]
    assert edge.defect_head_ is not None
    b_z = (bank - h["bank_mean"]) / h["bank_std"]
    h_z = (edge.defect_head_.score(feats, bank) - h["head_mean"]) / h["head_std"]
    assert np.allclose(edge.combined(feats, bank), np.logaddexp(b_z, h_z), atol=1e-4)
    old = InspectionModel.load(_with_meta(path, tmp_path / "old.aion", lambda d: d.pop("combine")))
    assert np.allclose(old.combined(feats, bank), b_z + h_z, atol=1e-4)
    assert np.abs(old.combined(feats, bank) - edge.combined(feats, bank)).max() > 0.1


def test_a_damaged_head_is_named(head_model, tmp_path: Path) -> None:
    from aion.solutions.inspection import InspectionModel, ModelFileError

    _, _, path, _ = head_model
    bad = tmp_path / "bad.aion"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            if name != "defect_head.npy":
                dst.writestr(name, src.read(name))
    with pytest.raises(ModelFileError, match="bad.aion"):
        InspectionModel.load(bad)
    # settings without the standardisation the map needs
    worse = _with_meta(path, tmp_path / "worse.aion", lambda h: h.pop("head_std"))
    with pytest.raises(ModelFileError, match="head_std"):
        InspectionModel.load(worse)
    # weights whose rows do not match the stored windows (a format 5 head's two radii, say)
    mismatched = _with_meta(path, tmp_path / "mismatched.aion", lambda h: h.update(radii=[2, 4]))
    with pytest.raises(ModelFileError, match=r"mismatched\.aion.*do not match its radii \[2, 4\]"):
        InspectionModel.load(mismatched)
    # a rule of combination this code does not know
    unknown = _with_meta(path, tmp_path / "unknown.aion", lambda h: h.update(combine="product"))
    with pytest.raises(ModelFileError, match=r"unknown\.aion.*'product'"):
        InspectionModel.load(unknown)


def _with_meta(path: Path, out: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the model file ``path`` at ``out`` whose ``meta.defect_head`` ``edit`` changed."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "meta.json":
                meta = json.loads(data)
                edit(meta["defect_head"])
                data = json.dumps(meta).encode()
            dst.writestr(name, data)
    return out


def test_too_few_masks_set_the_threshold_only(stains: Path, tmp_path: Path) -> None:
    from aion.solutions.inspection import TrainConfig, load_dataset, train
    from aion.solutions.inspection.data import sample_defects

    ds = load_dataset(stains)
    model = train(
        ds, TrainConfig(resolution=RESOLUTION, threads=2, min_bank_size=200), defects=sample_defects(ds, 3)
    )
    assert model.defect_head_ is None and not model.meta.head_images
    # no head: searched coarse to fine as any model without one (format 8)
    assert model.meta.version == 8 and model.meta.search_stride == 2 and model.meta.refine_level > 0
    assert model.train_report_.n_head_images == 0
    assert model.meta.threshold_method == "f1" and model.train_report_.n_defect_images == 3


def test_defect_folder_finds_masks_and_skips_them_as_images(tmp_path: Path) -> None:
    from aion.solutions.inspection.data import defect_folder

    rng = np.random.default_rng(0)
    img, mask = stained(rng, 32)
    for name in ("a.png", "b.png", "c.png"):
        save(img, tmp_path / name)
    save((mask * 255).astype(np.uint8), tmp_path / "a_mask.png")
    save((mask * 255).astype(np.uint8), tmp_path / "masks" / "b.png")
    save(img, tmp_path / "d.png")
    save(img, tmp_path / "e.png")
    save((mask * 255).astype(np.uint8), tmp_path / "d_box.png")  # boxes drawn round the defect
    save((mask * 255).astype(np.uint8), tmp_path / "boxes" / "e.png")
    items = {it.name: it for it in defect_folder(tmp_path)}
    assert sorted(items) == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    assert items["c.png"].mask_member is None
    for name in ("a.png", "b.png", "d.png", "e.png"):
        loaded = items[name].load_mask((32, 32))
        assert loaded is not None and (loaded == mask).all()
    assert [items[n].mask_is_box for n in sorted(items)] == [False, False, False, True, True]
    assert items["a.png"].load().shape == (32, 32, 3)


def test_an_okng_set_reads_drawn_boxes_as_boxes_and_prefers_a_traced_mask(tmp_path: Path) -> None:
    from aion.solutions.inspection import load_dataset

    rng = np.random.default_rng(1)
    img, mask = stained(rng, 32)
    for name in ("a.png", "b.png"):
        save(img, tmp_path / "ok" / name)
        save(img, tmp_path / "ng" / name)
    box = (mask * 255).astype(np.uint8)
    save(box, tmp_path / "ng_boxes" / "a.png")  # as the web job writes a box drawn on a.png
    save(box, tmp_path / "ng_boxes" / "b.png")
    save(box, tmp_path / "ng_masks" / "b.png")  # b also has a traced mask: that one is used
    ng = {it.name: it for it in load_dataset(tmp_path).test if it.label == 1}
    assert ng["a.png"].mask_member == "ng_boxes/a.png" and ng["a.png"].mask_is_box
    assert ng["b.png"].mask_member == "ng_masks/b.png" and not ng["b.png"].mask_is_box


def test_cli_trains_a_head_from_masked_test_images_and_reports_its_gain(stains: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aion.solutions.inspection.cli import app

    runner = CliRunner()
    model = tmp_path / "h.aion"
    base = ["train", str(stains), "--out", str(model), "--resolution", str(RESOLUTION), "--threads", "2"]
    res = runner.invoke(app, [*base, "--defects-per-kind", "5", "--json"])
    assert res.exit_code == 0, res.output
    trained = json.loads(res.stdout)
    assert trained["n_head_images"] == 5 and set(trained["head_gain"]) >= {
        "pixel_auroc_bank",
        "pixel_auroc_head",
    }
    res = runner.invoke(app, ["evaluate", str(model), str(stains), "--threads", "2"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())  # the console wraps long lines
    assert "defect head gain" in text and "5 images the defect head learned from are left out" in text
    res = runner.invoke(app, ["evaluate", str(model), str(stains), "--threads", "2", "--json"])
    assert json.loads(res.stdout)["n_images"] == 15
    # --no-defect-head: the same defects set the threshold only
    res = runner.invoke(app, [*base, "--defects-per-kind", "5", "--no-defect-head", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["n_head_images"] == 0
    # --no-head-flips: a head from the masked images as given
    res = runner.invoke(app, [*base, "--defects-per-kind", "5", "--no-head-flips", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["n_head_images"] == 5
    with zipfile.ZipFile(model) as zf:
        assert json.loads(zf.read("meta.json"))["defect_head"]["flips"] is False
    res = runner.invoke(app, [*base, "--defects-per-kind", "-1"])
    assert res.exit_code != 0 and "Defects per kind must be 0 or more: -1" in " ".join(res.output.split())


def test_training_reports_progress_through_every_stage_and_inside_the_head(stains: Path) -> None:
    """A progress bar on every long step: each stage ends at 100%, never goes back, and the head's
    stage moves between its backbone passes and its fits (not one jump from 0 to 1)."""
    from aion.solutions.inspection import TrainConfig, load_dataset, train
    from aion.solutions.inspection.data import sample_defects

    ds = load_dataset(stains)
    seen: dict[str, list[float]] = {}
    train(
        ds,
        TrainConfig(resolution=RESOLUTION, threads=2, min_bank_size=200, head_flips=False),
        progress=lambda stage, fraction: seen.setdefault(stage, []).append(fraction),
        defects=sample_defects(ds, 5),
    )
    assert list(seen) == ["features", "coreset", "calibrate", "defect head", "done"]
    for stage, values in seen.items():
        assert values[-1] == 1.0 and values == sorted(values), (stage, values)
    inside = {v for v in seen["defect head"] if 0.0 < v < 1.0}
    assert len(inside) >= 3, seen["defect head"]  # backbone passes, then each cross-fitted fit
    assert len({v for v in seen["calibrate"] if 0.0 < v < 1.0}) >= 2  # one per held-back image


def test_the_head_s_flipped_copies_are_of_what_the_model_inspects(trained) -> None:
    from dataclasses import replace

    from aion.solutions.inspection import InspectionModel
    from aion.solutions.inspection.area import Box, InspectionArea
    from aion.solutions.inspection.headfit import FLIPS, flipped_inputs

    _, _, edge = trained
    area = InspectionArea(Box(0.0, 0.1, 0.6, 1.0))  # not centred in the photo
    model = InspectionModel(replace(edge.meta, area=area.to_dict()), edge.memory_bank_, edge.runner)
    image = texture(np.random.default_rng(3), 120, color=True)
    image[20:40, 10:30] = 255  # something to tell the sides apart
    seen = model.batch([image])[0]  # (S, S, C): the crop, resized
    cut = area.crop_image(image)
    for flip in FLIPS:
        copy = flipped_inputs(model, [cut], flip)[0]
        assert np.abs(copy.astype(int) - flip(seen).astype(int)).max() <= 1  # the seen crop, flipped
        # flipping the whole photo first inspects another part of it: its mask would not fit
        other = model.batch([np.ascontiguousarray(flip(image))])[0]
        assert np.abs(other.astype(int) - flip(seen).astype(int)).mean() > 10
