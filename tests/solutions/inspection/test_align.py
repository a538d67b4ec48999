"""An inspection area that follows the part (``align.py``), on photos the tests make: a plate with
a lot label that lands somewhere else on the belt in every photo."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aion.solutions.inspection import InspectionModel, TrainConfig, evaluate, load_dataset, train
from aion.solutions.inspection.align import PartAligner, correlation
from aion.solutions.inspection.area import AreaError, Box, InspectionArea
from aion.solutions.inspection.cli import app
from aion.solutions.inspection.images import read_image
from aion.solutions.inspection.modelfile import ALIGN_MEMBER

from .belt import CROP, LABEL, PHOTO, PLATE, REF_AT, make_belt, on_belt, plate
from .conftest import quick_train, save


@pytest.fixture(scope="module")
def belt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_belt(tmp_path_factory.mktemp("belt"))


@pytest.fixture(scope="module")
def following(belt: Path) -> InspectionModel:
    area = InspectionArea(CROP, (LABEL,), align=True)
    return train(load_dataset(belt), TrainConfig(resolution=96, threads=2, area=area))


def test_the_area_follows_the_part(belt: Path, following: InspectionModel) -> None:
    ds = load_dataset(belt)
    fixed = train(ds, TrainConfig(resolution=96, threads=2, area=InspectionArea(CROP, (LABEL,))))
    held_still = evaluate(fixed, ds)
    # held still, the crop cuts the plate and takes in the belt, and the label leaves its box:
    # the bank learns belt, rims and labels anywhere, and defects hide among them
    assert held_still.image_auroc is not None and held_still.image_auroc <= 0.9
    report = evaluate(following, ds)
    assert report.false_reject_rate == 0.0 and report.escape_rate == 0.0
    assert report.image_auroc == 1.0
    assert report.pixel_auroc is not None and report.pixel_auroc >= 0.9
    # every training plate was found (the only warning is the threshold's, on 30 good images)
    assert not any("poorly" in w for w in following.train_report_.warnings)


def test_each_photo_is_inspected_where_its_part_lies(belt: Path, following: InspectionModel) -> None:
    where = json.loads((belt / "positions.json").read_text())
    names = sorted(n for n in where if n.startswith("test/"))
    preds = following.predict([read_image(belt / n) for n in names], names)
    for n, p in zip(names, preds, strict=True):
        x, y = where[n]
        assert p.crop is not None
        assert np.allclose(p.crop, (x - 4, y - 4, x + PLATE + 4, y + PLATE + 4), atol=2), (n, p.crop)
        lx0, ly0 = p.ignore[0][:2]
        assert abs(lx0 - (x + 52)) <= 2 and abs(ly0 - (y + 2)) <= 2  # the label's box moved with it
        assert p.part_match is not None and p.part_match > 0.8
        assert p.to_dict()["area"]["part_match"] == pytest.approx(p.part_match, abs=1e-4)
        if "/spot/" in n or "/scratch/" in n:
            assert not p.passed and p.regions
            r = p.regions[0]
            assert x - 6 <= r.x and r.x + r.width <= x + PLATE + 6  # in the crop, where the plate is
            assert y - 6 <= r.y and r.y + r.height <= y + PLATE + 6
    # a photo with no plate at all is not the part: its best place matches poorly
    empty = on_belt(np.full((PLATE, PLATE), 60, np.uint8), (0, 0), np.random.default_rng(9))
    miss = following.predict([empty])[0]
    assert miss.part_match is not None and miss.part_match < 0.5 and not miss.passed


def test_the_reference_travels_in_the_model_file(
    belt: Path, following: InspectionModel, tmp_path: Path
) -> None:
    path = following.save(tmp_path / "m.aion")
    with zipfile.ZipFile(path) as zf:
        assert ALIGN_MEMBER in zf.namelist()
    names = sorted(str(p) for p in (belt / "test").rglob("*.png"))
    images = [read_image(Path(n)) for n in names]
    with InspectionModel.load(path, threads=2) as loaded:
        assert loaded.meta.version == 10 and loaded.area.align
        ours, theirs = following.predict(images), loaded.predict(images)
    for a, b in zip(ours, theirs, strict=True):
        assert a.crop == b.crop and abs(a.raw_score - b.raw_score) < 1e-3
    # a file whose reference is missing is refused by name, never scored with a crop held still
    broken = tmp_path / "broken.aion"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.namelist():
            if item != ALIGN_MEMBER:
                dst.writestr(item, src.read(item))
    with pytest.raises(Exception, match="broken.aion"):
        InspectionModel.load(broken)


def test_correlation_finds_the_part_whatever_the_light() -> None:
    rng = np.random.default_rng(1)
    ref = on_belt(plate(rng, "L1")[0], REF_AT, rng)
    aligner = PartAligner(CROP).fit(ref)
    moved = on_belt(plate(rng, "L2")[0], (50, 8), rng)
    darker = (moved.astype(np.float32) * 0.6 + 20).astype(np.uint8)  # less light, a grey veil
    for photo in (moved, darker, np.stack([darker] * 3, axis=2)):
        found = aligner.locate(photo)
        assert found.crop.pixels(PHOTO, PHOTO) == pytest.approx((46, 4, 150, 108), abs=1)
        assert found.match > 0.8
    # a flat frame has no correlation (0), not a division by zero
    assert not correlation(np.full((20, 20), 7.0), rng.random((5, 5))).any()


def test_following_needs_a_crop_smaller_than_the_photo() -> None:
    with pytest.raises(AreaError, match="needs an inspected area"):
        InspectionArea(None, (LABEL,), align=True)
    with pytest.raises(AreaError, match="smaller than the photo"):
        PartAligner(Box(0.0, 0.0, 1.0, 1.0)).fit(np.zeros((50, 60), np.uint8))
    with pytest.raises(AreaError, match="plain in the reference photo"):  # a blank reference
        PartAligner(Box(0.2, 0.2, 0.6, 0.6)).fit(np.full((50, 60), 90, np.uint8))
    # moved up past the photo's edge: the crop is clipped, the label's box (now outside) dropped
    moved = InspectionArea(CROP, (LABEL,), align=True).shifted(0.0, -0.35)
    assert moved.crop is not None and moved.ignore == ()
    assert moved.crop.to_list() == pytest.approx([CROP.left, 0.0, CROP.right, CROP.bottom - 0.35])


def test_the_command_follows_the_part(belt: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "m.aion"
    args = quick_train(belt, model)
    res = runner.invoke(app, [*args, "--crop", "28,20,132,124", "--align", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["area"]["align"] is True
    photo = belt / "test" / "good" / "000.png"
    res = runner.invoke(app, ["predict", str(model), str(photo), "--json"])
    assert res.exit_code == 0, res.output
    area = json.loads(res.stdout)["predictions"][0]["area"]
    x, y = json.loads((belt / "positions.json").read_text())["test/good/000.png"]
    assert area["crop"] == pytest.approx([x - 4, y - 4, x + PLATE + 4, y + PLATE + 4], abs=2)
    assert area["part_match"] > 0.8
    plain = runner.invoke(app, ["predict", str(model), str(photo)])
    assert plain.exit_code == 0 and f"match={area['part_match']:.2f}" in plain.stdout
    # the reference named: its size reads the pixels, and it must be in the data
    res = runner.invoke(app, [*args, "--crop", "28,20,132,124", "--align", "--reference", "nope.png"])
    assert res.exit_code != 0 and "nope.png" in res.output
    res = runner.invoke(app, [*args, "--align"])
    assert res.exit_code == 2 and "needs an inspected area" in res.output


def test_training_names_the_photos_where_the_part_was_not_found(tmp_path: Path) -> None:
    root = make_belt(tmp_path / "belt", seed=4, n_train=12, n_good=0, n_defect=0)
    # a photo of the empty belt among the good ones (the camera fired without a part)
    save(
        on_belt(np.full((PLATE, PLATE), 60, np.uint8), (0, 0), np.random.default_rng(2)),
        root / "train" / "good" / "empty.png",
    )
    res = CliRunner().invoke(
        app, [*quick_train(root, tmp_path / "m.aion"), "--crop", "28,20,132,124", "--align", "--json"]
    )
    assert res.exit_code == 0, res.output
    warnings = [w for w in json.loads(res.stdout)["warnings"] if "poorly" in w]
    assert len(warnings) == 1 and "in 1 training photos: train/good/empty.png" in warnings[0]
