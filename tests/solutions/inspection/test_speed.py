"""``aion inspect speed``: a model timed on this PC as the line's station runs it (real model file,
real photos and synthetic ones)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aion.solutions.inspection import InspectionError
from aion.solutions.inspection.cli import app
from aion.solutions.inspection.speed import SYNTHETIC_SIZE, measure_speed, synthetic_photos

from .conftest import save, texture

runner = CliRunner()


def test_the_line_photos_are_timed_one_by_one_and_a_torn_one_named(trained, tmp_path: Path) -> None:  # noqa: ANN001
    _model, path, _loaded = trained
    rng = np.random.default_rng(4)
    photos = tmp_path / "camera"
    for i in range(3):
        save(texture(rng), photos / f"p{i}.png")
    (photos / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    res = runner.invoke(app, ["speed", str(path), str(photos), "--rounds", "8", "--json", "--every", "3"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # 8 calls of one photo over the 4 files cycled: the calls with the torn photo are not timed
    assert (out["batch"], out["photos"], out["synthetic"], out["threads"]) == (1, 6, False, 2)
    assert 0 < out["ms_median"] <= out["ms_p95"] <= out["ms_max"] and out["warmup_ms"] > 0
    assert out["per_hour"] == pytest.approx(3_600_000 / out["ms_p95"], rel=1e-3)
    assert out["host"] == platform.node() and out["cpu"] and out["keeps_up"] is True
    assert [s["name"] for s in out["skipped"]] == [str(photos / "torn.png")]

    res = runner.invoke(app, ["speed", str(path), str(photos / "p0.png"), "--rounds", "2", "--every", "1e-6"])
    assert res.exit_code == 0 and "median" in res.output and "does not keep up" in res.output

    res = runner.invoke(app, ["speed", str(path), str(photos / "torn.png"), "--rounds", "2"])
    assert res.exit_code == 2 and "No photo could be read" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["speed", str(path), str(tmp_path / "empty"), "--rounds", "2"])
    assert res.exit_code == 2 and "No photos in" in res.output
    res = runner.invoke(app, ["speed", str(path), "--rounds", "0"])
    assert res.exit_code == 2 and "must be >= 1" in res.output


def test_without_photos_synthetic_camera_frames_are_timed_in_batches(trained, tmp_path: Path) -> None:  # noqa: ANN001
    from PIL import Image

    _model, _path, loaded = trained
    frames = synthetic_photos(tmp_path, n=2)
    with Image.open(frames[0]) as im:
        assert im.size == SYNTHETIC_SIZE and im.mode == "RGB"
    rep = measure_speed(loaded, batch=4, rounds=3)
    assert (rep.synthetic, rep.batch, rep.photos, rep.skipped) == (True, 4, 12, [])
    assert rep.keeps_up(3600.0) and not rep.keeps_up(rep.ms_p95 / 1000.0)  # no fifth to spare
    with pytest.raises(InspectionError):
        measure_speed(loaded, batch=0)
