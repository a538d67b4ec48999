"""The ``aion inspect`` commands end to end (train -> evaluate -> predict) on synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from aion.solutions.inspection.cli import app

from .conftest import add_defect, make_mvtec, save, texture

runner = CliRunner()


def test_train_evaluate_predict(tmp_path: Path) -> None:
    data = make_mvtec(tmp_path / "data", seed=21, n_train=8, n_test_good=3, n_defect=3)
    model = tmp_path / "m.aion"
    args = ["train", str(data), "--out", str(model), "--resolution", "64", "--threads", "2"]
    rng = np.random.default_rng(9)
    labelled = tmp_path / "labelled_defects"
    for i in range(2):
        save(add_defect(texture(rng), rng, ("spot", "scratch")[i])[0], labelled / f"d{i}.png")
    res = runner.invoke(app, [*args, "--target-frr", "0.1", "--defects", str(labelled)])
    assert res.exit_code == 0, res.output
    assert model.exists() and "m.aion" in res.stdout and "(f1)" in res.stdout

    res = runner.invoke(app, ["evaluate", str(model), str(data), "--threads", "2"])
    assert res.exit_code == 0, res.output
    assert "threshold frr" in res.stdout and "threshold f1" in res.stdout
    assert "labelled defects gain" in res.stdout

    res = runner.invoke(app, ["evaluate", str(model), str(data), "--json", "--threads", "2"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert list(summary) == [
        "image_auroc",
        "pixel_auroc",
        "aupro",
        "f1",
        "threshold",
        "ms_per_image",
        "images_per_second",
        "n_images",
    ]
    assert summary["n_images"] == 6 and summary["image_auroc"] > 0.5
    assert summary["pixel_auroc"] is not None and summary["images_per_second"] > 0

    imgs = tmp_path / "new"
    save(texture(rng), imgs / "ok.png")
    save(add_defect(texture(rng), rng, "spot")[0], imgs / "spot.png")
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    heat = tmp_path / "heat"
    res = runner.invoke(app, ["predict", str(model), str(imgs), "--heatmaps", str(heat), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    names = sorted(Path(p["name"]).name for p in out["predictions"])
    assert names == ["ok.png", "spot.png"]
    assert [Path(s["name"]).name for s in out["skipped"]] == ["broken.jpg"]
    assert all(0 <= p["score"] <= 1 and p["verdict"] in ("OK", "NG") for p in out["predictions"])
    assert next(p for p in out["predictions"] if p["name"].endswith("spot.png"))["verdict"] == "NG"
    # a threshold given at inference overrides the model's: far above every score, all pass
    res = runner.invoke(app, ["predict", str(model), str(imgs), "--json", "--threshold", "1e6"])
    assert res.exit_code == 0, res.output
    lenient = json.loads(res.stdout)["predictions"]
    assert [p["verdict"] for p in lenient] == ["OK", "OK"] and all(p["threshold"] == 1e6 for p in lenient)
    expected = ["ok_heatmap.png", "ok_mask.png", "spot_heatmap.png", "spot_mask.png"]
    assert sorted(p.name for p in heat.iterdir()) == expected

    # the same labelled defects, but the threshold from the target rate: the F1 one is still shown
    frr_model = tmp_path / "frr.aion"
    res = runner.invoke(
        app,
        [
            *args[:3],
            str(frr_model),
            *args[4:],
            "--target-frr",
            "0.1",
            "--defects",
            str(labelled),
            "--no-use-defects",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "(frr)" in res.stdout
    res = runner.invoke(app, ["evaluate", str(frr_model), str(data), "--threads", "2"])
    assert "threshold frr" in res.stdout and "threshold f1" in res.stdout


def test_bad_paths_fail_cleanly(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evaluate", str(tmp_path / "none.aion"), str(tmp_path)])
    assert res.exit_code == 2
    assert "none.aion" in res.output
    res = runner.invoke(app, ["train", str(tmp_path / "nodata"), "--out", str(tmp_path / "x.aion")])
    assert res.exit_code == 2 and "nodata" in res.output


def test_train_with_chosen_levels_and_bad_level_lists(tmp_path: Path) -> None:
    data = make_mvtec(tmp_path / "data", seed=5, n_train=6, n_test_good=1, n_defect=1)
    base = ["train", str(data), "--resolution", "64", "--threads", "2"]
    model = tmp_path / "fine.aion"
    res = runner.invoke(app, [*base, "--out", str(model), "--blocks", "2,4,10", "--json"])
    assert res.exit_code == 0, res.output
    from aion.solutions.inspection import InspectionModel

    assert InspectionModel.load(model).meta.blocks == [2, 4, 10]
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "x.aion"), "--blocks", "4,x"])
    assert res.exit_code == 2 and "--blocks" in res.output and "4,x" in res.output
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "y.aion"), "--blocks", "4,99"])
    assert res.exit_code == 2 and "0-15" in res.output
    assert not (tmp_path / "x.aion").exists() and not (tmp_path / "y.aion").exists()
    for bad in ("0.1,x", "0,1", "1.5"):
        res = runner.invoke(app, [*base, "--out", str(tmp_path / "z.aion"), "--pooled-fractions", bad])
        assert res.exit_code == 2 and "--pooled-fractions" in res.output and bad in res.output
    assert not (tmp_path / "z.aion").exists()


def test_train_with_pooled_image_statistics_or_none(tmp_path: Path) -> None:
    data = make_mvtec(tmp_path / "data", seed=6, n_train=30, n_test_good=1, n_defect=1)
    base = ["train", str(data), "--resolution", "64", "--threads", "2", "--json"]
    from aion.solutions.inspection import InspectionModel

    res = runner.invoke(
        app, [*base, "--out", str(tmp_path / "p.aion"), "--pooled-fractions", "1,0.05,0.01,0.5"]
    )
    assert res.exit_code == 0, res.output
    assert InspectionModel.load(tmp_path / "p.aion").meta.score_fractions == [0.01, 0.05, 0.5, 1.0]
    defect = next((data / "test").glob("s*/*.png"))  # the scratch or spot image
    res = runner.invoke(app, ["predict", str(tmp_path / "p.aion"), str(defect), "--json"])
    assert res.exit_code == 0, res.output
    pred = json.loads(res.output)["predictions"][0]
    assert list(pred["statistics"]) == ["top_1%", "top_5%", "top_50%", "whole_map"]
    assert pred["cause"] == max(pred["statistics"], key=pred["statistics"].get)
    res = runner.invoke(app, ["predict", str(tmp_path / "p.aion"), str(defect)])
    assert res.exit_code == 0 and ("원인/cause=" in res.output) == (pred["verdict"] == "NG")
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "n.aion"), "--pooled-fractions", "none"])
    assert res.exit_code == 0, res.output
    assert InspectionModel.load(tmp_path / "n.aion").meta.score_fractions == []


def test_train_options_default_to_the_engine_config() -> None:
    """`aion inspect train` trains what `train(ds)` trains: each option named after a
    `TrainConfig` field defaults to that field (the CLI once kept a 1% bank after the engine's
    default became 2%)."""
    import inspect

    from aion.solutions.inspection.cli import _fractions, train_cmd
    from aion.solutions.inspection.config import TrainConfig

    defaults = TrainConfig()
    checked = []
    for name, param in inspect.signature(train_cmd).parameters.items():
        if not hasattr(defaults, name):
            continue
        value = param.default.default  # typer's OptionInfo
        if name == "pooled_fractions":
            value = _fractions(value)
        if name == "resolution" and value is None:  # the engine's, unless an ONNX graph fixes its own
            value = defaults.resolution
        assert value == getattr(defaults, name), name
        checked.append(name)
    assert {"coreset_ratio", "target_frr", "resolution", "pooled_fractions", "head_flips"} <= set(checked)


def test_an_ok_ng_set_with_masks_trains_a_defect_head_as_the_web_job_does(tmp_path: Path) -> None:
    """``ok/``, ``ng/`` and ``ng_masks/`` (a data set version downloaded from the web app): the
    masked NG images train a defect head without any option; without masks they set the threshold."""
    rng = np.random.default_rng(5)
    data = tmp_path / "version"
    for i in range(25):  # a head needs 5 held-back good images (a fifth)
        save(texture(rng), data / "ok" / f"ok_{i}.png")
    for i in range(5):  # a bright patch, large enough to cover whole cells of the 64-px grid
        img, mask = texture(rng), np.zeros((96, 96), np.uint8)
        img[20 + i : 50 + i, 30:60] = 250
        mask[20 + i : 50 + i, 30:60] = 255
        save(img, data / "ng" / f"ng_{i}.png")
        save(mask, data / "ng_masks" / f"ng_{i}.png")
    args = ["--resolution", "64", "--threads", "2", "--json"]
    res = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "m.aion"), *args])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["n_head_images"] == 5 and report["n_defect_images"] == 5

    for f in (data / "ng_masks").iterdir():
        f.unlink()
    res = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "n.aion"), *args])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["n_head_images"] == 0 and report["n_defect_images"] == 5
