"""Time-series charts as plain data for an inline SVG (no web code): lanes, bands and hover points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

WIDTH = 1000.0
LANE = 46.0
SCORE_LANE = 90.0
GAP = 8.0
MAX_POINTS = 600
COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a")


@dataclass
class Lane:
    name: str
    y: float
    height: float
    points: str
    color: str
    strong: bool = False
    limit_y: float | None = None  # the alarm limit (score lane)


@dataclass
class Band:
    x: float
    width: float
    kind: str  # "normal" | "alarm"
    label: str = ""
    anchor: str = ""


@dataclass
class Chart:
    rows: int
    width: float
    height: float
    lanes: list[Lane]
    bands: list[Band] = field(default_factory=list)
    hover: dict[str, Any] = field(default_factory=dict)

    def x_of(self, row: float) -> float:
        return round(row / max(self.rows - 1, 1) * self.width, 1)

    def band(self, start: int, end: int, kind: str, label: str = "", anchor: str = "") -> None:
        x0, x1 = self.x_of(start), self.x_of(max(end - 1, start))
        self.bands.append(Band(x0, max(x1 - x0, 2.0), kind, label, anchor))


def _thin(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS)).round().astype(int)) if n else np.zeros(0, int)


def _polyline(
    rows: np.ndarray, y: np.ndarray, n: int, top: float, height: float, lo: float, hi: float
) -> str:
    span = hi - lo if hi > lo else 1.0
    ys = top + height - (np.clip(y, lo, hi) - lo) / span * height
    xs = rows / max(n - 1, 1) * WIDTH
    ok = np.isfinite(ys)
    return " ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs[ok], ys[ok], strict=True))


def _range(v: np.ndarray) -> tuple[float, float]:
    f = v[np.isfinite(v)]
    if not len(f):
        return 0.0, 1.0
    lo, hi = float(np.quantile(f, 0.005)), float(np.quantile(f, 0.995))
    pad = (hi - lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def series_chart(
    values: np.ndarray,
    columns: list[str],
    timestamps: list[str] | None,
    scores: np.ndarray | None = None,
    limit: float | None = None,
    strong: set[str] | None = None,
) -> Chart:
    """One lane per sensor (its own scale), and a score lane with its limit on top when given."""
    n = int(values.shape[0])
    rows = _thin(n)
    lanes: list[Lane] = []
    y = 0.0
    hover: dict[str, Any] = {"rows": rows.tolist(), "series": {}}
    if timestamps is not None:
        hover["times"] = [timestamps[i] for i in rows]
    if scores is not None:
        lo, hi = _range(np.r_[scores, [limit or 0.0]])
        lo = min(lo, 0.0)
        limit_y = None
        if limit is not None:
            limit_y = round(y + SCORE_LANE - (min(limit, hi) - lo) / (hi - lo or 1.0) * SCORE_LANE, 1)
        pts = _polyline(rows, scores[rows], n, y, SCORE_LANE, lo, hi)
        lanes.append(Lane("score", y, SCORE_LANE, pts, "#24292f", True, limit_y))
        hover["series"]["score"] = [round(float(v), 4) for v in scores[rows]]
        y += SCORE_LANE + GAP
    for j, name in enumerate(columns):
        v = values[:, j]
        lo, hi = _range(v)
        pts = _polyline(rows, v[rows], n, y, LANE, lo, hi)
        lanes.append(Lane(name, y, LANE, pts, COLORS[j % len(COLORS)], name in (strong or set())))
        hover["series"][name] = [None if not np.isfinite(x) else round(float(x), 4) for x in v[rows]]
        y += LANE + GAP
    return Chart(n, WIDTH, max(y - GAP, 1.0), lanes, [], hover)
