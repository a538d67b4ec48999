"""Typed carriers for sensor data: :class:`SensorFrame` and the :class:`LoadReport` of its loading."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

LABEL_COLUMNS = ("anomaly", "changepoint", "label", "fault", "failure")


@dataclass
class SensorFrame:
    """A multivariate sensor series: ``values[i, j]`` is sensor ``columns[j]`` at row ``i``.

    ``timestamps`` is ``None`` when the file had no usable time column (rows are then in file order).
    ``labels`` holds optional 0/1 columns such as ``anomaly`` or ``changepoint``.

    >>> f = SensorFrame.from_dataframe(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    >>> f.columns, len(f)
    (['a', 'b'], 2)
    """

    values: np.ndarray
    columns: list[str]
    timestamps: pd.DatetimeIndex | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.columns):
            raise ValueError(f"values shape {self.values.shape} does not match {len(self.columns)} columns")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def slice(self, start: int, stop: int | None = None) -> SensorFrame:
        """Rows ``start:stop`` as a new frame (copies)."""
        ts = None if self.timestamps is None else self.timestamps[start:stop]
        labels = {k: v[start:stop].copy() for k, v in self.labels.items()}
        return SensorFrame(self.values[start:stop].copy(), list(self.columns), ts, labels)

    def select(self, columns: list[str]) -> SensorFrame:
        """The same rows with only ``columns`` (in that order); missing columns become NaN."""
        out = np.full((len(self), len(columns)), np.nan)
        for j, c in enumerate(columns):
            if c in self.columns:
                out[:, j] = self.values[:, self.columns.index(c)]
        return SensorFrame(out, list(columns), self.timestamps, dict(self.labels))

    def to_dataframe(self) -> pd.DataFrame:
        df = pd.DataFrame(self.values, columns=self.columns, index=self.timestamps)
        for k, v in self.labels.items():
            df[k] = v
        return df

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, label_columns: tuple[str, ...] = LABEL_COLUMNS) -> SensorFrame:
        """Numeric columns become sensors, known label columns become labels, a DatetimeIndex is kept."""
        labels = {c: df[c].to_numpy(dtype=np.float64) for c in df.columns if str(c).lower() in label_columns}
        sensors = [c for c in df.columns if c not in labels]
        ts = df.index if isinstance(df.index, pd.DatetimeIndex) else None
        values = df[sensors].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        return cls(values, [str(c) for c in sensors], ts, labels)

    def row_of(self, when: Any) -> int:
        """Row index of a timestamp (first row at or after it) or pass an int through."""
        if isinstance(when, int | np.integer):
            return int(when)
        if self.timestamps is None:
            raise ValueError(f"frame has no timestamps; give a row number instead of {when!r}")
        return int(self.timestamps.searchsorted(pd.Timestamp(when)))


@dataclass
class ColumnIssue:
    """One column that was dropped or repaired, with the reason in Korean and English."""

    column: str
    action: str  # "dropped" or "repaired"
    reason: str  # machine code: "constant", "non_numeric", "text_values", "missing"
    count: int = 0
    examples: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class LoadReport:
    """What the loader found and did, so a user can trust (or fix) the data."""

    source: str
    file_format: str
    rows_read: int = 0
    rows_kept: int = 0
    separator: str | None = None
    decimal: str | None = None
    timestamp_column: str | None = None
    sensors: list[str] = field(default_factory=list)
    label_columns: list[str] = field(default_factory=list)
    issues: list[ColumnIssue] = field(default_factory=list)
    bad_timestamps_dropped: int = 0
    duplicate_timestamps_merged: int = 0
    out_of_order_sorted: int = 0
    missing_values_filled: int = 0
    messages: list[str] = field(default_factory=list)

    def note(self, ko: str, en: str) -> None:
        self.messages.append(f"{ko} / {en}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
