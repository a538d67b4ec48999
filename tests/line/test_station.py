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
    finally:
        pipe.close()

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
