"""The inspection area (``area.py``): a crop of each photo and boxes whose anomaly never counts,
on photos the tests make: textures with a printed lot number that changes from lot to lot, and a
part on a conveyor where other things pass beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from aion.solutions.inspection import InspectionModel, TrainConfig, evaluate, load_dataset, train
from aion.solutions.inspection.area import AreaError, Box, InspectionArea
from aion.solutions.inspection.cli import app
from aion.solutions.inspection.errors import InspectionError
from aion.solutions.inspection.images import read_image
from aion.solutions.inspection.meta import SEARCH_FORMAT_VERSION
from aion.solutions.inspection.pixelmetrics import PixelMetrics

from .conftest import add_defect, quick_train, save, texture

#: The lot-number label's box (fractions of the photo) and the lots of the training and new parts.
LABEL = Box(0.58, 0.04, 0.96, 0.30)
LOTS = {"train": ("L0312", "L0313", "L0321"), "new": ("L0487", "L0596", "L0965")}


def labelled(img: np.ndarray, rng: np.random.Generator, lots: tuple[str, ...]) -> np.ndarray:
    """The part with its lot number printed on a white label (top right)."""
    h, w = img.shape
    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    draw.rectangle([int(0.60 * w), int(0.06 * h), int(0.94 * w), int(0.26 * h)], fill=235)
    draw.text((int(0.62 * w), int(0.08 * h)), lots[int(rng.integers(len(lots)))], fill=10)
    return np.asarray(im)


def make_lots(root: Path, seed: int = 0, n_train: int = 30, n_good: int = 8, n_defect: int = 8) -> Path:
    """Good parts of three lots to train on; new parts (good and defective) of other lots."""
    rng = np.random.default_rng(seed)
    for i in range(n_train):
        save(labelled(texture(rng), rng, LOTS["train"]), root / "train" / "good" / f"{i:03d}.png")
    for i in range(n_good):
        save(labelled(texture(rng), rng, LOTS["new"]), root / "test" / "good" / f"{i:03d}.png")
    for i in range(n_defect):
        kind = ("scratch", "spot")[i % 2]
        img, mask = add_defect(texture(rng), rng, kind)
        save(labelled(img, rng, LOTS["new"]), root / "test" / kind / f"{i:03d}.png")
        mask[: int(0.3 * mask.shape[0]), int(0.58 * mask.shape[1]) :] = False  # under the label
        save((mask * 255).astype(np.uint8), root / "ground_truth" / kind / f"{i:03d}_mask.png")
    return root


@pytest.fixture(scope="module")
def lots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lots(tmp_path_factory.mktemp("lots"))


@pytest.fixture(scope="module")
def ignoring(lots: Path) -> InspectionModel:
    cfg = TrainConfig(resolution=96, threads=2, area=InspectionArea(Box(0.04, 0.0, 1.0, 0.96), (LABEL,)))
    return train(load_dataset(lots), cfg)


def test_an_ignored_label_stops_the_false_rejects_of_new_lots(lots: Path, ignoring: InspectionModel) -> None:
    ds = load_dataset(lots)
    plain = evaluate(train(ds, TrainConfig(resolution=96, threads=2)), ds)
    # the whole photo: every good part of a new lot is rejected for its lot number
    assert plain.false_reject_rate is not None and plain.false_reject_rate >= 0.75
    report = evaluate(ignoring, ds)
    assert report.false_reject_rate == 0.0 and report.escape_rate == 0.0
    assert report.image_auroc is not None and report.image_auroc >= 0.95
    assert report.pixel_auroc is not None and report.pixel_auroc >= 0.9


def test_the_area_travels_in_the_model_file(lots: Path, ignoring: InspectionModel, tmp_path: Path) -> None:
    path = ignoring.save(tmp_path / "m.aion")
    with InspectionModel.load(path, threads=2) as loaded:
        assert loaded.meta.version == 9  # older readers refuse it rather than score the whole photo
        assert loaded.area == ignoring.area and loaded.meta.area["ignore"] == [LABEL.to_list()]
        photos = sorted((lots / "test").rglob("*.png"))
        exported = loaded.predict_files(photos).predictions
    trained = ignoring.predict_files(photos).predictions
    assert len(exported) == len(photos)
    for a, b in zip(trained, exported, strict=True):
        assert abs(a.raw_score - b.raw_score) <= 1e-3 * max(1.0, abs(a.raw_score))
    # a model of the whole photo is written as before
    plain = train(load_dataset(lots), TrainConfig(resolution=96, threads=2, check_good=False))
    assert plain.meta.area == {} and plain.meta.version <= SEARCH_FORMAT_VERSION


def test_predictions_are_in_the_photo_s_pixels(lots: Path, ignoring: InspectionModel) -> None:
    spot = sorted((lots / "test" / "spot").glob("*.png"))[0]
    image = read_image(spot)
    pred = ignoring.predict([image], [str(spot)])[0]
    crop = (3, 0, 96, 93)  # Box(0.04, 0, 1, 0.96) of a 96 x 96 photo
    assert not pred.passed and pred.crop == crop and pred.ignore == (LABEL.pixels(96, 96),)
    assert pred.to_dict()["area"] == {"crop": list(crop), "ignore": [list(LABEL.pixels(96, 96))]}
    for r in pred.regions:  # regions are boxes of the photo, inside the crop
        assert crop[0] <= r.x and r.x + r.width <= crop[2] and crop[1] <= r.y and r.y + r.height <= crop[3]
    ignored = ignoring.ignored_pixels
    assert ignored is not None and ignored.any() and not pred.anomaly_map[ignored].any()
    heat = np.asarray(pred.heatmap(image))
    assert heat.shape == image.shape
    # outside the crop and in the label the photo is shown darkened, without heat
    outside = (image[94:, :].astype(np.float32) * 0.35).astype(np.uint8)
    assert np.array_equal(heat[94:, :], outside)
    x0, y0, x1, y1 = LABEL.pixels(96, 96)
    assert np.array_equal(
        heat[y0:y1, x0:x1], (image[y0:y1, x0:x1].astype(np.float32) * 0.35).astype(np.uint8)
    )
    mask = np.asarray(pred.mask())
    assert mask.shape == (96, 96) and not mask[94:, :].any() and mask.any()


def conveyor(rng: np.random.Generator, visitor: bool) -> np.ndarray:
    """A 128 x 128 photo: the part (a texture) in the middle of a plain belt, and now and then
    something else on the belt beside it (a bright box)."""
    photo = np.full((128, 128), 70, np.uint8)
    photo += rng.integers(0, 6, photo.shape, dtype=np.uint8)
    photo[16:112, 16:112] = texture(rng)
    if visitor:
        y = int(rng.integers(0, 100))
        photo[y : y + 24, 114:126] = 240
    return photo


def test_a_crop_sees_only_the_part(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    root = tmp_path / "belt"
    for i in range(24):
        save(conveyor(rng, visitor=False), root / "ok" / f"{i:03d}.png")
    new = [conveyor(rng, visitor=True) for _ in range(6)]
    ds = load_dataset(root)
    whole = train(ds, TrainConfig(resolution=96, threads=2))
    crop = Box.parse("16,16,112,112", (128, 128))  # the part
    cropped = train(ds, TrainConfig(resolution=96, threads=2, area=InspectionArea(crop)))
    assert sum(not p.passed for p in whole.predict(new)) >= 5  # the box beside the part rejects it
    assert all(p.passed for p in cropped.predict(new))
    spot = conveyor(rng, visitor=True)
    spot[16:112, 16:112] = add_defect(texture(rng), rng, "spot")[0]
    pred = cropped.predict([spot])[0]
    assert not pred.passed and pred.regions and 16 <= pred.regions[0].x < 112


def test_ignored_pixels_are_not_counted_in_pixel_metrics() -> None:
    amap = np.zeros((8, 8), np.float32)
    amap[0:2, 0:2] = 5.0  # a hot spot in the ignored box
    mask = np.zeros((8, 8), bool)
    mask[6:8, 6:8] = True  # the defect, cold
    amap[6:8, 6:8] = 1.0
    ignored = np.zeros((8, 8), bool)
    ignored[0:2, 0:2] = True
    counted, every = PixelMetrics(), PixelMetrics()
    counted.add(mask, amap, ignored)
    every.add(mask, amap)
    assert counted.auroc() == 1.0 and every.auroc() is not None and every.auroc() < 1.0
    mask[0, 0] = True  # a defect pixel inside the ignored box is no region either
    counted = PixelMetrics()
    counted.add(mask, amap, ignored)
    assert counted.n_regions == 1


def test_boxes_are_checked() -> None:
    with pytest.raises(AreaError, match="right > left"):
        Box(0.5, 0.0, 0.4, 1.0)
    with pytest.raises(AreaError, match="outside the inspected area"):
        InspectionArea(Box(0.5, 0.5, 1.0, 1.0), (Box(0.0, 0.0, 0.2, 0.2),))
    with pytest.raises(AreaError, match="outside the 640x480 photo"):
        Box.parse("0,0,700,480", (640, 480))
    with pytest.raises(AreaError, match="need the photo's size"):
        Box.parse("0,0,700,480")
    with pytest.raises(AreaError, match="Percentages mixed"):
        Box.parse("10%,0,90%,1")
    # a crop that falls under a pixel in a tiny photo still scores (a pixel at least), never raises
    assert InspectionArea(Box(0.0, 0.0, 0.001, 0.001)).crop_pixels(50, 40) == (0, 0, 1, 1)


def test_ignoring_the_whole_area_is_refused_before_any_work(lots: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.aion"
    args = ["--crop", "0.5,0,1,1", "--ignore", "0.5,0,0.8,1", "--ignore", "0.7,0,1,1"]
    result = CliRunner().invoke(app, [*quick_train(lots, out), *args])
    assert result.exit_code != 0 and "nothing is left to inspect" in result.output and not out.exists()
    # boxes that (with their neighbouring patches) leave nothing to inspect
    area = InspectionArea(Box(0.5, 0.5, 1.0, 1.0), (Box(0.5, 0.5, 0.8, 1.0), Box(0.7, 0.5, 1.0, 1.0)))
    stages: list[str] = []
    with pytest.raises(InspectionError, match="nothing is left to inspect"):
        train(
            load_dataset(lots), TrainConfig(resolution=64, area=area), progress=lambda s, f: stages.append(s)
        )
    assert "features" not in stages


def test_the_command_takes_a_crop_and_ignore_boxes(lots: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "m.aion"
    args = quick_train(lots, model)
    res = runner.invoke(app, [*args, "--crop", "4,0,96,92", "--ignore", "58%,4%,96%,30%", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["area"]["crop"] == pytest.approx([4 / 96, 0.0, 1.0, 92 / 96])
    assert report["area"]["ignore"] == [pytest.approx([0.58, 0.04, 0.96, 0.30])]
    with InspectionModel.load(model) as loaded:
        assert loaded.area.crop is not None and len(loaded.area.ignore) == 1
    res = runner.invoke(app, ["predict", str(model), str(lots / "test" / "good"), "--json"])
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout)["predictions"][0]
    assert first["area"]["crop"] == [4, 0, 96, 92]

    res = runner.invoke(app, [*args, "--crop", "0.5,0,0.4,1"])
    assert res.exit_code == 2 and "right > left" in res.output
    res = runner.invoke(app, [*args, "--crop", "0,0,4,4"])  # 4 pixels of the 96-pixel photos
    assert res.exit_code == 2 and "too small" in res.output
