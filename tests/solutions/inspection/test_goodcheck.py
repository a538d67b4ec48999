"""The check of the good training images: defective parts planted among them are listed first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aion.solutions.inspection.data import fingerprint
from aion.solutions.inspection.goodcheck import UnusualGood, sets_threshold

from .conftest import SIZE, add_defect, save, texture, train_saved
from .test_defect_head import stained

PLANTED = ("g031.png", "g047.png", "g052.png")  # named like the good images around them


def _folder(root: Path, n_good: int = 60) -> dict[str, np.ndarray]:
    """A plain folder of good textures with three defect images among them; their masks."""
    rng = np.random.default_rng(7)
    masks = {}
    for i in range(n_good):
        name = f"g{i:03d}.png"
        img = texture(rng)
        if name in PLANTED:
            img, mask = add_defect(img, rng, ("spot", "scratch")[i % 2])
            masks[name] = mask
        save(img, root / name)
    return masks


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("planted")
    masks = _folder(root / "good")
    return root / "good", masks


def test_planted_defects_are_listed_first_with_their_heat_maps(planted, tmp_path: Path) -> None:
    folder, masks = planted
    # 20% held back (12 images): most planted images built the memory bank and are found by the
    # extra search of those images, searched as new parts are (coarse to fine)
    model, path, edge = train_saved(folder, tmp_path / "m.aion", min_calibration_images=10)
    rep = model.train_report_
    assert rep.n_fit_images == 48 and rep.n_calibration_images == 12
    found = rep.unusual_good
    assert {u.name for u in found[:3]} == set(PLANTED)
    assert any(not u.held_back for u in found[:3])  # ... from the bank's own images
    # clean images follow only as the top 5% or above the threshold, highest first
    assert len(found) >= 3 and [u.score for u in found] == sorted((u.score for u in found), reverse=True)
    # a planted defect held back for the threshold raises it to its own score (the threshold
    # rejects at most 1% of 12 good images): the reason the list does not stop at the threshold
    (held_planted,) = [u for u in found[:3] if u.held_back]  # this draw holds one back
    assert model.meta.threshold == pytest.approx(held_planted.score, abs=1e-5)
    # ... and the list says which image set the threshold
    assert sets_threshold(found, model.meta.thresholds["frr"]) == found.index(held_planted)
    # the file keeps the list and each image's heat map as a new part
    listed = [UnusualGood.from_dict(d) for d in edge.meta.calibration["unusual_good"]]
    assert listed == found
    for u in found[:3]:
        blob = (folder / u.name).read_bytes()
        assert fingerprint(blob) == u.fingerprint
        image = _image(folder / u.name)
        pred = edge.held_back_prediction(u.fingerprint, image, u.name)
        assert pred is not None and abs(pred.raw_score - u.score) < 1e-2  # float16 patch scores
        # its stored map (raw, the model's scale) is hottest on the planted defect
        raw = edge.anomaly_maps(edge.unusual_patches_[found.index(u)][None].astype(np.float32))[0]
        on_defect = _resized(masks[u.name], raw.shape)
        assert raw[on_defect].mean() > np.quantile(raw, 0.95)
        assert not pred.passed or pred.raw_score <= edge.meta.threshold
    # an image that built the bank and is off the list has no stored map: None, not a guess
    stored = {u.fingerprint for u in found} | set(edge.meta.calibration["good_fingerprints"])
    clean = next(p for p in sorted(folder.iterdir()) if fingerprint(p.read_bytes()) not in stored)
    assert edge.held_back_prediction(fingerprint(clean.read_bytes()), _image(clean), clean.name) is None


def test_without_the_extra_search_only_held_back_images_are_checked(planted, tmp_path: Path) -> None:
    folder, _ = planted
    model, _, _ = train_saved(folder, tmp_path / "m.aion", min_calibration_images=10, check_good=False)
    found = model.train_report_.unusual_good
    assert found and all(u.held_back for u in found)
    held = set(model.meta.calibration["good_fingerprints"])
    assert {u.fingerprint for u in found} <= held


def test_a_small_set_checks_every_image_left_out_in_turn(planted, tmp_path: Path) -> None:
    folder, _ = planted
    # 60 images under the 100 the threshold wants: every image calibrates, scored leave one out
    model, _, _ = train_saved(folder, tmp_path / "m.aion")
    rep = model.train_report_
    assert rep.n_calibration_images == 60
    assert {u.name for u in rep.unusual_good[:3]} == set(PLANTED)
    assert all(u.held_back for u in rep.unusual_good)


def _image(path: Path) -> np.ndarray:
    from aion.solutions.inspection.images import read_image

    return read_image(path)


def _resized(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(shape[::-1])) > 127


def test_the_command_names_the_good_images_to_check_and_draws_them(planted, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aion.solutions.inspection.cli import app

    folder, _ = planted
    heat = tmp_path / "heat"
    args = ["train", str(folder), "--out", str(tmp_path / "m.aion"), "--resolution", "96", "--threads", "2"]
    res = CliRunner().invoke(app, [*args, "--heatmaps", str(heat)])
    assert res.exit_code == 0, res.output
    listed = res.stdout.split("Good images to check:")[1].splitlines()
    assert {line.split()[2] for line in listed[1:4]} == set(PLANTED)  # the first three named
    # 60 images, each left out in turn: the highest of them sets the 1% threshold (and says so)
    assert "set the target-rate threshold" in listed[1] and listed[1].split()[1] == "OK"
    drawn = {p.name for p in heat.iterdir()}
    assert {f"{Path(n).stem}_heatmap.png" for n in PLANTED} <= drawn
    res = CliRunner().invoke(app, [*args, "--json", "--no-check-good"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert {u["name"] for u in report["unusual_good"][:3]} == set(PLANTED)  # 60 images: all left out in turn


def test_the_search_with_own_rows_left_out_matches_the_exact_one() -> None:
    """Each image's patches are searched with the model's search (here exact, and an inverted
    file); where one of the image's own bank rows is as near, that patch is measured again without
    them. The bank is made of the images' own patches, so that happens for many patches, at
    distances near 0 where rounding would hide it."""
    from aion.solutions.inspection.goodcheck import scored_as_new
    from aion.solutions.inspection.knn import NearestNeighbour, build_ivf, nearest_excluding

    rng = np.random.default_rng(3)
    feats = rng.normal(size=(6, 64, 16)).astype(np.float32) * 10 + 100  # large norms, small gaps
    picks = rng.choice(6 * 64, 150, replace=False)
    bank, owner = feats.reshape(-1, 16)[picks], picks // 64
    exact = nearest_excluding(feats, bank, owner).reshape(6, 8, 8)
    assert (exact > 0).all()  # no patch found itself
    np.testing.assert_allclose(scored_as_new(feats, bank, owner, 8, None), exact, rtol=1e-4)
    plain = NearestNeighbour(bank, use_faiss=False)
    np.testing.assert_allclose(scored_as_new(feats, bank, owner, 8, None, plain.search), exact, rtol=1e-4)
    order, ivf = build_ivf(bank)
    lists = NearestNeighbour(bank[order], ivf=ivf)
    approx = scored_as_new(feats, bank[order], owner[order], 8, None, lists.search)
    assert (approx >= exact * (1 - 1e-4)).all()  # never nearer than the exact, own rows left out
    assert np.median(approx / exact) < 1.05


def test_with_a_defect_head_the_bank_s_images_are_checked_too(planted, tmp_path: Path) -> None:
    from aion.solutions.inspection.data import defect_folder

    folder, _ = planted
    rng = np.random.default_rng(17)
    labelled = tmp_path / "defects"
    for i in range(6):  # masked defects for the head (large stains), apart from the good images
        img, mask = stained(rng, SIZE)
        save(img, labelled / f"d{i}.png")
        save((mask * 255).astype(np.uint8), labelled / f"d{i}_mask.png")
    model, _, edge = train_saved(
        folder, tmp_path / "m.aion", defect_folder(labelled), min_calibration_images=10
    )
    rep = model.train_report_
    assert rep.n_head_images > 0 and edge.defect_head_ is not None
    found = rep.unusual_good
    # the planted images that built the bank are scored (bank and head, as new parts) and listed
    assert {u.name for u in found[:3]} == set(PLANTED)
    from_bank = [u for u in found[:3] if not u.held_back]
    assert from_bank
    for u in from_bank:  # the stored heat map gives the listed score, through the head
        pred = edge.held_back_prediction(u.fingerprint, _image(folder / u.name), u.name)
        assert pred is not None and abs(pred.raw_score - u.score) < 1e-2
