"""The inspection station: a camera source that names an inspection model scores each new photo
on the line (real model file, real folder, real SQLite store, the pipeline as ``aion line run``
builds it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from aion.line.config import parse_line
from aion.line.errors import LineConfigError
from aion.line.runtime import build_pipeline
from aion.line.station import UNREADABLE_SCORE
from aion.line.stationspeed import SPEED_FILE, SpeedMeter, read_speeds
from tests.solutions.inspection.conftest import add_defect, save, texture


def _line(tmp_path: Path, model: Path | str, **camera: object) -> dict:
    source = {"name": "cam", "kind": "camera", "folder": str(tmp_path / "camera"), "camera": "station",
              "settle_s": 0.0, "scan_interval": 0.0, "model": str(model), **camera}  # fmt: skip
    return {
        "line": "inspect",
        "sources": [source],
        "machines": [{"name": "station", "tags": [{"name": "image", "source": "cam", "high": 0.5}]}],
    }


def test_each_photo_is_scored_and_an_ng_part_raises_an_alarm_with_its_heat_map(
    model_file: Path, tmp_path: Path
) -> None:
    camera, ng_dir = tmp_path / "camera", tmp_path / "ng"
    camera.mkdir()
    cfg = parse_line(_line(tmp_path, model_file, heatmaps=str(ng_dir)))
    pipe = build_pipeline(cfg, tmp_path / "lines")
    rng = np.random.default_rng(11)
    photos = {
        "good_1.png": texture(rng),
        "good_2.png": texture(rng),
        "scratch.png": add_defect(texture(rng), rng, "scratch")[0],
    }
    t0 = time.time() - 100
    for i, (name, img) in enumerate(photos.items()):
        save(img, camera / name)
        os.utime(camera / name, (t0 + i, t0 + i))  # each photo's reading is known by its time
    (camera / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # a truncated write
    os.utime(camera / "torn.png", (t0 + 3, t0 + 3))
    try:
        for _ in range(3):  # first sight records each file's size, the next takes it
            pipe.step()
        values = {round(p.ts - t0): p.value for p in pipe.store.query("station.image", 0, time.time())}
        assert set(values) == {0, 1, 2, 3}
        assert values[0] < 0.5 and values[1] < 0.5  # good parts pass
        assert values[2] > 0.5  # the scratched part is NG
        assert values[3] == UNREADABLE_SCORE  # a photo that could not be read does not pass
        alarms = pipe.store.alarms("inspect")
        assert [(a.tag, a.rule) for a in alarms] == [("station.image", "high")]
        assert sorted(p.name for p in ng_dir.iterdir()) == ["scratch_heatmap.png", "scratch_mask.png"]
        # the station timed its photos on this PC, for the web app: the running pipeline writes
        # the figures when due, also once no more photos come (here: made due at once)
        pipe.image_scorer.speed.next_flush_ = 0.0  # type: ignore[union-attr]
        pipe._next_state = 0.0
        pipe.step()
        speed = read_speeds(tmp_path / "lines" / "inspect")["station"]
    finally:
        pipe.close()
    assert (speed.camera, speed.model, speed.photos) == ("station", model_file.name, 4)
    assert 0 < speed.ms_median <= speed.ms_p95 <= speed.ms_max < 60_000 and speed.per_hour > 0
    assert abs(speed.measured_at - time.time()) < 120

    # restarted, the line does not inspect the same photos again
    pipe = build_pipeline(cfg, tmp_path / "lines")
    try:
        pipe.step()
        pipe.step()
        assert pipe.store.count("station.image") == 4
    finally:
        pipe.close()


def test_the_line_does_not_start_with_a_model_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "camera").mkdir()
    broken = tmp_path / "broken.aion"
    broken.write_bytes(b"not a zip")
    for model in (tmp_path / "missing.aion", broken):
        with pytest.raises(LineConfigError) as e:
            build_pipeline(parse_line(_line(tmp_path, model)), tmp_path / "lines")
        assert "Cannot open the inspection model of source 'cam'" in str(e.value) and str(model) in str(
            e.value
        )


def test_a_model_written_over_the_named_file_is_used_without_a_restart(
    model_file: Path, tmp_path: Path
) -> None:
    """A retrained model saved over the file the source names scores the next photos; a torn
    file there is logged and the model in use kept."""
    from aion.solutions.inspection import InspectionModel

    camera, parts = tmp_path / "camera", tmp_path / "parts.aion"
    camera.mkdir()
    parts.write_bytes(model_file.read_bytes())
    pipe = build_pipeline(parse_line(_line(tmp_path, parts)), tmp_path / "lines")
    station = pipe.image_scorer
    assert station is not None
    station.check_s = 0.0  # type: ignore[attr-defined]
    rng = np.random.default_rng(5)
    t0 = time.time() - 100

    def score(name: str, img: np.ndarray, at: float) -> float:
        save(img, camera / name)
        os.utime(camera / name, (t0 + at, t0 + at))
        for _ in range(2):
            pipe.step()
        [p] = [p for p in pipe.store.query("station.image", t0 + at - 0.5, t0 + at + 0.5)]
        return p.value

    try:
        assert score("a.png", add_defect(texture(rng), rng, "scratch")[0], 0) > 0.5
        with InspectionModel.load(model_file) as m:  # "retrained": a part would need to be very odd to fail
            m.with_threshold(1e6).save(parts)
        assert score("b.png", add_defect(texture(rng), rng, "scratch")[0], 1) < 0.5
        parts.write_bytes(b"PK\x03\x04 torn")  # a copy still being written
        assert score("c.png", add_defect(texture(rng), rng, "scratch")[0], 2) < 0.5  # still the tolerant one
    finally:
        pipe.close()


def test_the_speed_meter_keeps_the_newest_photos_of_the_model_in_use(tmp_path: Path) -> None:
    """Figures over a window of the newest photos; a new model starts afresh; the file is written
    whole and read back; a damaged or missing file reads as no figures."""
    path = tmp_path / SPEED_FILE
    meter = SpeedMeter(path, window=4, every_s=3600)
    meter.add("station", "a.aion", 0.4, 4, at=10.0)  # 100 ms each
    meter.add("station", "a.aion", 0.02, 2, at=11.0)  # 10 ms each: the window keeps 100, 100, 10, 10
    meter.add("press", "b v2", 0.05, 1, at=12.0)
    meter.flush()
    got = read_speeds(tmp_path)
    assert (got["station"].photos, got["station"].ms_median, got["station"].ms_max) == (4, 55.0, 100.0)
    assert got["station"].measured_at == 11.0 and got["press"].model == "b v2"
    meter.add("station", "a2.aion", 0.03, 1)  # retrained: the old model's times are gone
    meter.flush()  # within every_s: not written yet
    assert read_speeds(tmp_path)["station"].model == "a.aion"
    meter.flush(force=True)
    assert (read_speeds(tmp_path)["station"].model, read_speeds(tmp_path)["station"].photos) == ("a2.aion", 1)
    assert [p.name for p in tmp_path.iterdir()] == [SPEED_FILE]  # no temporary file left behind
    path.unlink()
    meter.flush(force=True)  # nothing new since the last write: not written again
    assert not path.exists()
    path.write_text('{"cameras": {"station": {"model": 1}}}', encoding="utf-8")
    assert read_speeds(tmp_path) == {} and read_speeds(tmp_path / "nowhere") == {}


@pytest.mark.parametrize("turn", [0.0, 15.0])
def test_a_model_that_follows_the_part_inspects_it_where_it_lies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, turn: float
) -> None:
    from aion.solutions.inspection import TrainConfig, train
    from aion.solutions.inspection.area import InspectionArea
    from tests.solutions.inspection.belt import CROP, PLATE, anywhere, make_belt, on_belt, plate, turned

    data = make_belt(tmp_path / "belt", seed=3, n_train=16, n_good=0, n_defect=0, turn=turn and 12.0)
    area = InspectionArea(CROP, align=True, turn=turn)
    model = train(data, TrainConfig(resolution=64, threads=2, area=area, check_good=False)).save(
        tmp_path / "m.aion"
    )
    camera = tmp_path / "camera"
    camera.mkdir()
    pipe = build_pipeline(parse_line(_line(tmp_path, model)), tmp_path / "lines")
    rng = np.random.default_rng(21)
    t0 = time.time() - 100
    spotted, _ = plate(rng, "L0312", "spot")
    photos = {
        "moved.png": on_belt(plate(rng, "L0313")[0], anywhere(rng), rng),
        "spotted.png": on_belt(spotted, anywhere(rng), rng),
        "empty.png": on_belt(np.full((PLATE, PLATE), 60, np.uint8), (0, 0), rng),
    }
    if turn:  # a good plate that also lies turned
        at = anywhere(rng, 14)
        photos["turned.png"] = turned(on_belt(plate(rng, "L0321")[0], at, rng), at, -9.0)
    for i, (name, img) in enumerate(photos.items()):
        save(img, camera / name)
        os.utime(camera / name, (t0 + i, t0 + i))
    try:
        with caplog.at_level("WARNING", logger="aion.line.station"):
            for _ in range(len(photos)):
                pipe.step()
        values = {round(p.ts - t0): p.value for p in pipe.store.query("station.image", 0, time.time())}
    finally:
        pipe.close()
    assert values[0] < 0.5  # a good plate elsewhere on the belt passes
    assert values[1] > 0.5 and values[2] > 0.5  # a spotted plate, and a fixture without one, do not
    if turn:
        assert values[3] < 0.5
    weak = [r.getMessage() for r in caplog.records if "hardly matched" in r.getMessage()]
    assert len(weak) == 1 and "empty.png" in weak[0]
