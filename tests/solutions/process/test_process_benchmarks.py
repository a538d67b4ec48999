"""The SKAB metrics, the evaluate command and the predictive-maintenance models on small generated data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from aion.solutions.process.cli import app
from aion.solutions.process.failure import FailureClassifier
from aion.solutions.process.rul import RulRegressor, phm08_score
from aion.solutions.process.skab import binary_scores, edges, nab_scores

from .conftest import make_series


def test_binary_scores_pool_all_rows() -> None:
    f1, far, mar = binary_scores(
        [np.array([1, 1, 0, 0]), np.array([0, 0, 1, 0])], [np.array([1, 0, 1, 0]), np.zeros(4)]
    )
    # TP=1, FN=2, FP=1, TN=4
    assert (f1, far, mar) == (round(1 / 2.5, 2), 20.0, round(200 / 3, 2))


def test_nab_perfect_null_and_false_positives() -> None:
    t = np.arange(200, dtype=float)
    true = np.zeros(200)
    true[100] = 1
    assert nab_scores([true], [true.copy()], [t])["standard"] > 40
    prompt = np.zeros(200)
    prompt[100] = 1  # at the changepoint, the start of the 60 s window after it: full credit
    assert nab_scores([true], [prompt], [t])["standard"] == 100.0
    late = np.zeros(200)
    late[150] = 1  # within the window but late: partial credit
    assert 0 < nab_scores([true], [late], [t])["standard"] < 100
    early = np.zeros(200)
    early[85] = 1  # before the window: a false positive and a miss (SKAB leaderboard windows)
    assert nab_scores([true], [early], [t])["standard"] < 0
    assert nab_scores([true], [early], [t], window_s=30, destination="center")["standard"] == 100.0
    assert nab_scores([true], [np.zeros(200)], [t])["standard"] == 0.0
    fp = np.zeros(200)
    fp[[10, 20, 30]] = 1
    assert nab_scores([true], [fp], [t])["standard"] < 0
    np.testing.assert_array_equal(edges(np.array([1, 1, 0, 0, 1])), [1, 0, 1, 0, 1])


def _skab_dir(tmp: Path) -> Path:
    for k in range(2):
        X = make_series(n=700, d=3, seed=k)
        y = np.zeros(700)
        y[500:620] = 1
        X[500:620, 1] += 3.0
        df = pd.DataFrame(X, columns=["a", "b", "c"])
        df.insert(0, "datetime", pd.date_range("2020-01-01", periods=700, freq="s").astype(str))
        df["anomaly"] = y
        df["changepoint"] = np.r_[np.zeros(500), 1, np.zeros(119), 1, np.zeros(79)]
        (tmp / "valve").mkdir(exist_ok=True)
        df.to_csv(tmp / "valve" / f"{k}.csv", sep=";", index=False)
    return tmp


def test_evaluate_json_is_one_object(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", str(_skab_dir(tmp_path)), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"f1", "far", "mar", "nab_standard"} <= set(out)
    assert out["f1"] > 0.7 and out["far"] < 10


def test_cli_train_and_score(tmp_path: Path) -> None:
    X = make_series(n=800, d=3)
    X[650:700, 0] += 5
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df.insert(0, "time", pd.date_range("2024-01-01", periods=800, freq="s").astype(str))
    df.to_csv(tmp_path / "d.csv", index=False)
    runner = CliRunner()
    model = tmp_path / "m.aion"
    r = runner.invoke(
        app, ["train", str(tmp_path / "d.csv"), "--out", str(model), "--normal-end", "500", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["normal_period"] == [0, 500]
    r = runner.invoke(app, ["score", str(model), str(tmp_path / "d.csv"), "--json"])
    out = json.loads(r.stdout)
    assert any(a["start"] < 700 and a["end"] > 650 for a in out["alarms"])
    r = runner.invoke(app, ["evaluate", str(tmp_path), "--benchmark", "nope"])
    assert r.exit_code == 2 and "Unknown benchmark" in r.output


def test_rul_regressor_learns_degradation() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for u in range(30):
        life = int(rng.integers(120, 220))
        for c in range(1, life + 1):
            wear = (c / life) ** 2
            rows.append([u, c, 5 * wear + 0.2 * rng.normal(), -3 * wear + 0.2 * rng.normal(), 1.0])
    df = pd.DataFrame(rows, columns=["unit", "cycle", "s1", "s2", "flat"])
    train, test = df[df.unit < 22], df[df.unit >= 22]
    cut = test.groupby("unit")["cycle"].transform("max") * 0.7
    test = test[test.cycle <= cut]
    m = RulRegressor(max_iter=100).fit(train)
    assert "flat" not in m.sensors_
    pred = m.predict_last(test)
    life = df[df.unit >= 22].groupby("unit")["cycle"].max()
    last = test.groupby("unit")["cycle"].max()
    true = np.minimum(life - last, 125).to_numpy()
    rmse = float(np.sqrt(np.mean((pred.to_numpy() - true) ** 2)))
    assert rmse < 0.6 * float(np.std(true) + 20)
    assert phm08_score(np.array([10.0])) > phm08_score(np.array([-10.0])) > 0


def test_failure_classifier_on_tabular_data() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "type": rng.choice(["L", "M", "H"], n),
            "torque": rng.normal(40, 10, n),
            "wear": rng.uniform(0, 250, n),
        }
    )
    df["failure"] = ((df.torque > 55) & (df.wear > 150)).astype(int)
    clf = FailureClassifier(max_iter=80).fit(df.iloc[:1000], "failure")
    assert "id" in clf.id_columns_
    pred = clf.predict(df.iloc[1000:])
    y = df.failure.iloc[1000:].to_numpy()
    assert (pred == y).mean() > 0.95 and pred[y == 1].mean() > 0.6


def _cmapss_dir(tmp: Path) -> Path:
    rng = np.random.default_rng(3)

    def units(n: int, truncate: bool) -> tuple[list[str], list[int]]:
        lines, ruls = [], []
        for u in range(1, n + 1):
            life = int(rng.integers(130, 200))
            last = int(life * rng.uniform(0.5, 0.9)) if truncate else life
            for c in range(1, last + 1):
                wear = (c / life) ** 2
                sensors = [5 * wear + 0.1 * rng.normal(), -3 * wear + 0.1 * rng.normal()] + [1.0] * 19
                lines.append(" ".join(str(v) for v in [u, c, 0.0, 0.0, 100.0, *sensors]))
            ruls.append(life - last)
        return lines, ruls

    train, _ = units(20, False)
    test, ruls = units(8, True)
    (tmp / "train_FD001.txt").write_text("\n".join(train) + "\n")
    (tmp / "test_FD001.txt").write_text("\n".join(test) + "\n")
    (tmp / "RUL_FD001.txt").write_text("\n".join(str(r) for r in ruls) + "\n")
    return tmp


def test_evaluate_cmapss_json_keys(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", str(_cmapss_dir(tmp_path)), "--benchmark", "cmapss", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"rmse", "phm_score"} <= set(out) and out["units"] == 8
    assert out["rmse"] < 25  # the wear signal is learnable: far better than guessing (RUL up to 125)
