"""An inspection area that follows a part that also turns (``InspectionArea(turn=...)``,
``turn.py``), on photos the tests make: the plate with its lot label, anywhere on the belt and
turned up to 12 degrees either way."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from aion.solutions.inspection import InspectionModel, TrainConfig, evaluate, load_dataset, train
from aion.solutions.inspection import turn as turning
from aion.solutions.inspection.align import PartAligner
from aion.solutions.inspection.area import AreaError, Box, InspectionArea
from aion.solutions.inspection.cli import app
from aion.solutions.inspection.images import read_image
from aion.solutions.inspection.postprocess import overlay, seen_pixels

from .belt import CROP, LABEL, PLATE, make_belt
from .conftest import quick_train


@pytest.fixture(scope="module")
def belt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_belt(tmp_path_factory.mktemp("turning"), seed=5, turn=12.0)


@pytest.fixture(scope="module")
def turning_model(belt: Path) -> InspectionModel:
    area = InspectionArea(CROP, (LABEL,), align=True, turn=15.0)
    return train(load_dataset(belt), TrainConfig(resolution=96, threads=2, area=area))


def _truth(belt: Path) -> tuple[dict[str, list[int]], dict[str, float]]:
    return json.loads((belt / "positions.json").read_text()), json.loads((belt / "angles.json").read_text())


def test_the_area_turns_with_the_part(belt: Path, turning_model: InspectionModel) -> None:
    ds = load_dataset(belt)
    moving = train(ds, TrainConfig(resolution=96, threads=2, area=InspectionArea(CROP, (LABEL,), align=True)))
    only_moved = evaluate(moving, ds)
    report = evaluate(turning_model, ds)
    # moved but not turned, the crop cuts the plate's corners and takes in the belt
    assert only_moved.image_auroc is not None and report.image_auroc == 1.0
    assert only_moved.image_auroc < report.image_auroc
    assert report.false_reject_rate == 0.0
    # the masks were turned with their plates: the map must lie on them, turned back
    assert report.pixel_auroc is not None and report.pixel_auroc >= 0.95
    assert turning_model.meta.area["turn"] == 15.0


def test_each_photo_is_inspected_upright(belt: Path, turning_model: InspectionModel) -> None:
    where, angles = _truth(belt)
    names = sorted(n for n in where if n.startswith("test/"))
    preds = turning_model.predict([read_image(belt / n) for n in names], names)
    for n, p in zip(names, preds, strict=True):
        x, y = where[n]
        assert p.angle == pytest.approx(angles[n], abs=1.0), n
        assert p.crop is not None
        assert np.allclose(p.crop, (x - 4, y - 4, x + PLATE + 4, y + PLATE + 4), atol=2), (n, p.crop)
        assert p.part_match is not None and p.part_match > 0.75
        assert p.to_dict()["area"]["angle"] == pytest.approx(p.angle, abs=0.01)
        if not p.passed:
            truth = (
                np.asarray(
                    Image.open(
                        belt / "ground_truth" / n.split("/")[1] / n.split("/")[2].replace(".png", "_mask.png")
                    )
                )
                > 127
            )
            found = np.asarray(p.mask()) > 127
            # the defect mask is drawn turned back onto the photo: it lies on the truth
            assert (found & truth).sum() >= 0.3 * truth.sum(), n
            ys, xs = np.nonzero(truth)
            r = p.regions[0]
            assert (
                r.x <= xs.max() and xs.min() < r.x + r.width and r.y <= ys.max() and ys.min() < r.y + r.height
            )


def test_trying_every_other_angle_first_finds_the_same_turn(belt: Path) -> None:
    where, angles = _truth(belt)
    reference = read_image(belt / "train/good/000.png")
    quick = PartAligner(CROP, turn=15.0).fit(reference)
    every = PartAligner(CROP, turn=15.0, coarse_to_fine=False).fit(reference)
    assert len(quick.angles_) >= 7  # the coarse pass is in use
    for name in sorted(n for n in where if n.startswith("test/")):
        photo = read_image(belt / name)
        a, b = quick.locate(photo), every.locate(photo)
        assert a.angle == pytest.approx(b.angle, abs=1e-9) and a.crop == b.crop, name
        assert a.angle == pytest.approx(angles[name], abs=1.0)
        assert not a.at_limit and not b.at_limit, name  # turned at most 12 of the 15 degrees
    # searched 4 degrees either way, a part turned further is found at the search's end, no further
    short = PartAligner(CROP, turn=4.0).fit(reference)
    far = max((n for n in where if n.startswith("test/")), key=lambda n: abs(angles[n]))
    found = short.locate(read_image(belt / far))
    assert abs(angles[far]) > 6 and found.at_limit and abs(found.angle) == pytest.approx(4.0)
    assert not PartAligner(CROP).fit(reference).locate(read_image(belt / far)).at_limit  # no turn searched


def test_the_label_box_turns_with_the_part(belt: Path, turning_model: InspectionModel) -> None:
    where, angles = _truth(belt)
    name = max((n for n in where if n.startswith("test/good")), key=lambda n: abs(angles[n]))
    image = read_image(belt / name)
    p = turning_model.predict([image], [name])[0]
    assert abs(p.angle) > 5
    seen = seen_pixels(p.image_size, p.crop, p.ignore, p.angle)
    x, y = where[name]
    # the label's centre, turned with the plate about the plate's centre, is not inspected
    cx, cy, a = x + PLATE / 2, y + PLATE / 2, np.radians(angles[name])
    lx, ly = x + 73 - cx, y + 14 - cy
    tx, ty = cx + np.cos(a) * lx + np.sin(a) * ly, cy - np.sin(a) * lx + np.cos(a) * ly
    assert not seen[round(ty), round(tx)]
    assert seen[round(cy), round(cx)]  # the plate's centre is
    # outside the turned crop the heat map shows the photo darkened
    assert image.shape[2] == 3
    heat = np.asarray(p.heatmap(image))
    assert heat.shape[:2] == image.shape[:2]
    out = ~seen_pixels(p.image_size, p.crop, (), p.angle)
    assert heat[out].mean() < 0.5 * image[out].mean()


def test_training_says_when_the_part_turns_further_than_searched(
    belt: Path, turning_model: InspectionModel
) -> None:
    # searched 15 degrees either way for plates turned up to 12: no angle at the search's end
    assert not any("end of the search" in w for w in turning_model.train_report_.warnings)
    area = InspectionArea(CROP, (LABEL,), align=True, turn=4.0)
    short = train(load_dataset(belt), TrainConfig(resolution=64, threads=2, area=area, check_good=False))
    warning = [w for w in short.train_report_.warnings if "end of the search" in w]
    _, angles = _truth(belt)
    assert len(warning) == 1 and "(4 degrees either way)" in warning[0] and "Raise the turn" in warning[0]
    n = int(warning[0].split(" in ")[-1].split(" of ")[0])
    # those that turned further than the 4 degrees searched (give or take the search's accuracy)
    turned = [abs(a) for name, a in angles.items() if name.startswith("train/")]
    assert sum(a > 5 for a in turned) <= n <= sum(a > 3 for a in turned), (n, sorted(turned))


def test_the_turn_travels_in_the_model_file(
    belt: Path, turning_model: InspectionModel, tmp_path: Path
) -> None:
    path = turning_model.save(tmp_path / "m.aion")
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("meta.json"))
    assert meta["version"] == 11 and meta["area"]["turn"] == 15.0
    names = sorted(str(p) for p in (belt / "test").rglob("*.png"))
    images = [read_image(Path(n)) for n in names]
    with InspectionModel.load(path, threads=2) as loaded:
        ours, theirs = turning_model.predict(images), loaded.predict(images)
    for a, b in zip(ours, theirs, strict=True):
        assert a.angle == b.angle and a.crop == b.crop and abs(a.raw_score - b.raw_score) < 1e-3


def test_a_turn_needs_an_area_that_follows_the_part() -> None:
    with pytest.raises(AreaError, match="only searched when the area follows the part"):
        InspectionArea(CROP, turn=10.0)
    with pytest.raises(AreaError, match="0-45 degrees: 60"):
        InspectionArea(CROP, align=True, turn=60.0)
    with pytest.raises(AreaError, match="0-45 degrees: -5"):
        PartAligner(CROP, turn=-5.0)
    # held still or only moved, nothing turns: a model of format 10 or older is read as before
    assert InspectionArea.from_dict({"crop": [0.1, 0.1, 0.5, 0.5], "align": True}).turn == 0.0


def test_cutting_undoes_the_turn() -> None:
    rng = np.random.default_rng(3)
    photo = np.asarray(Image.fromarray((rng.random((30, 40)) * 255).astype(np.uint8)).resize((240, 180)))
    box = (70, 40, 170, 140)
    for angle in (0.0, 7.5, -30.0):
        turned = np.asarray(Image.fromarray(photo).rotate(angle, Image.Resampling.BILINEAR, center=(120, 90)))
        upright = turning.cut(turned, box, angle).astype(np.float32)
        inner = (slice(10, -10), slice(10, -10))
        assert np.abs(upright - photo[40:140, 70:170])[inner].mean() < 6, angle
        # turned the wrong way, it is not the part
        if angle:
            assert (
                np.abs(turning.cut(turned, box, -angle) - photo[40:140, 70:170].astype(np.float32))[
                    inner
                ].mean()
                > 20
            )
    # a map of the box put back covers the turned box's area; an area placed turned cuts the same
    assert turning.paste(np.ones((100, 100), np.float32), box, 30.0, (240, 180)).sum() == pytest.approx(
        1e4, rel=0.02
    )
    area = InspectionArea(Box(70 / 240, 40 / 180, 170 / 240, 140 / 180)).turned(30.0)
    assert np.array_equal(area.crop_image(photo), turning.cut(photo, box, 30.0))
    # the heat map of a turned crop is drawn where the crop lies
    heat = np.asarray(
        overlay(np.full((180, 240, 3), 200, np.uint8), np.zeros((8, 8), np.float32), crop=box, angle=30.0)
    )
    corners = turning.corners(box, 30.0)
    assert heat[90, 120].mean() > 100 and heat[2, 2].mean() < 100
    assert min(x for x, _ in corners) < 70 - 10  # the turned box reaches past the unturned one


def test_the_command_turns_with_the_part(belt: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "m.aion"
    args = quick_train(belt, model)
    res = runner.invoke(app, [*args, "--crop", "28,20,132,124", "--align", "--turn", "15", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["area"]["turn"] == 15.0
    where, angles = _truth(belt)
    photo = belt / "test" / "good" / "001.png"
    res = runner.invoke(app, ["predict", str(model), str(photo), "--json"])
    assert res.exit_code == 0, res.output
    area = json.loads(res.stdout)["predictions"][0]["area"]
    assert area["angle"] == pytest.approx(angles["test/good/001.png"], abs=1.0)
    plain = runner.invoke(app, ["predict", str(model), str(photo)])
    assert plain.exit_code == 0 and f"turn={area['angle']:+.1f}" in plain.stdout
    res = runner.invoke(app, [*args, "--crop", "28,20,132,124", "--turn", "15"])
    assert res.exit_code != 0 and "only searched when the area follows the part" in res.output
