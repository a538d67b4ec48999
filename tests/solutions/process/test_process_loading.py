"""Bad input never crashes the loader; every repair shows up in the typed report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aion.solutions.process.errors import ProcessError
from aion.solutions.process.loading import load_sensor_file


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_any_separator(tmp_path: Path, sep: str) -> None:
    rows = [f"time{sep}a{sep}b"] + [f"2024-01-01 00:00:{i:02d}{sep}{i}.5{sep}{10 - i}" for i in range(10)]
    frame, report = load_sensor_file(_write(tmp_path, "x.csv", "\n".join(rows)))
    assert report.separator == sep
    assert frame.columns == ["a", "b"]
    assert report.timestamp_column == "time"
    assert frame.values[3, 0] == 3.5


def test_decimal_comma_text_pollution_constant_and_labels(tmp_path: Path) -> None:
    lines = ["datetime;flow;press;const;anomaly"]
    for i in range(20):
        press = "Inp OutRange" if i in (4, 9) else f"{i},25"
        lines.append(f"2024-01-01 00:00:{i:02d};{i},5;{press};7;{int(i > 15)}")
    frame, report = load_sensor_file(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert report.decimal == ","
    assert frame.columns == ["flow", "press"]
    assert frame.values[2, 0] == 2.5
    assert np.all(np.isfinite(frame.values))
    issues = {(i.column, i.reason) for i in report.issues}
    assert ("press", "text_values") in issues and ("const", "constant") in issues
    text_issue = next(i for i in report.issues if i.reason == "text_values")
    assert text_issue.count == 2 and text_issue.examples == ["Inp OutRange"]
    assert frame.labels["anomaly"].sum() == 4
    assert report.to_dict()["rows_kept"] == 20


def test_duplicates_out_of_order_and_bad_times(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "ts,a,b",
            "2024-01-01 00:00:03,3,1",
            "2024-01-01 00:00:01,1,2",
            "2024-01-01 00:00:02,2,3",
            "2024-01-01 00:00:02,4,5",
            "not a time,9,9",
            "2024-01-01 00:00:04,,6",
        ]
    )
    frame, report = load_sensor_file(_write(tmp_path, "d.csv", text))
    assert frame.timestamps is not None and frame.timestamps.is_monotonic_increasing
    assert len(frame) == 4
    assert report.bad_timestamps_dropped == 1
    assert report.duplicate_timestamps_merged == 1
    assert report.out_of_order_sorted >= 1
    assert frame.values[1, 0] == 3.0  # mean of the duplicated second
    assert report.missing_values_filled == 1 and np.isfinite(frame.values).all()


def test_excel_and_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "Timestamp": pd.date_range("2024-01-01", periods=30, freq="min"),
            "t1": np.arange(30.0),
            "t2": np.r_[np.ones(29), 3],
        }
    )
    df.to_excel(tmp_path / "x.xlsx", index=False)
    df.to_parquet(tmp_path / "x.parquet")
    for name in ("x.xlsx", "x.parquet"):
        frame, report = load_sensor_file(tmp_path / name)
        assert frame.columns == ["t1", "t2"] and len(frame) == 30
        assert report.timestamp_column == "Timestamp"


def test_named_timestamp_and_clear_errors(tmp_path: Path) -> None:
    p = _write(tmp_path, "n.csv", "when,a\n2024-01-01,1\n2024-01-02,2\n2024-01-03,4\n")
    frame, _ = load_sensor_file(p, timestamp_column="when")
    assert frame.timestamps is not None
    with pytest.raises(ProcessError, match="Timestamp column not found"):
        load_sensor_file(p, timestamp_column="zeit")
    with pytest.raises(ProcessError, match="No numeric sensor"):
        load_sensor_file(_write(tmp_path, "t.csv", "a,b\nx,y\nz,w\n"))
    with pytest.raises(ProcessError, match="File not found"):
        load_sensor_file(tmp_path / "missing.csv")
