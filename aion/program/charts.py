"""Charts drawn with reportlab's own graphics (no matplotlib): a radar chart and a bar chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, String
from reportlab.lib import colors

from aion.program.errors import ReportError

SERIES_COLOURS = (colors.HexColor("#1f6feb"), colors.HexColor("#9a9a9a"), colors.HexColor("#e8590c"))


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    dashed: bool = False


def radar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    max_value: float = 4.0,
    rings: int = 4,
    size: float = 260.0,
    font_name: str = "Helvetica",
) -> Drawing:
    """A radar (spider) chart on a fixed 0..max_value scale, one polygon per series.

    The first spoke points up; spokes go clockwise in ``labels`` order.
    """
    n = len(labels)
    if n < 3:
        raise ReportError(
            f"레이더 차트는 축이 3개 이상이어야 합니다: {n} / A radar chart needs at least 3 axes: {n}"
        )
    for s in series:
        if len(s.values) != n:
            raise ReportError(
                f"계열 {s.name!r}의 값 개수({len(s.values)})가 축 수({n})와 다릅니다 / "
                f"Series {s.name!r} has {len(s.values)} values for {n} axes"
            )
    legend_h = 18 * len(series)
    d = Drawing(size + 120, size + 40 + legend_h)
    cx, cy = (size + 120) / 2, legend_h + 20 + size / 2
    radius = size / 2 - 10

    def point(i: int, value: float) -> tuple[float, float]:
        angle = math.pi / 2 - 2 * math.pi * i / n
        r = radius * max(0.0, min(value, max_value)) / max_value
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    for k in range(1, rings + 1):
        pts: list[float] = []
        for i in range(n + 1):
            pts.extend(point(i % n, max_value * k / rings))
        d.add(PolyLine(pts, strokeColor=colors.HexColor("#cccccc"), strokeWidth=0.6))
        x, y = point(0, max_value * k / rings)
        d.add(
            String(
                x + 3,
                y - 3,
                f"{max_value * k / rings:g}",
                fontName=font_name,
                fontSize=6,
                fillColor=colors.HexColor("#888888"),
            )
        )
    for i, label in enumerate(labels):
        x, y = point(i, max_value)
        d.add(Line(cx, cy, x, y, strokeColor=colors.HexColor("#cccccc"), strokeWidth=0.6))
        lx, ly = point(i, max_value * 1.12)
        anchor = "middle" if abs(lx - cx) < 5 else ("start" if lx > cx else "end")
        d.add(String(lx, ly - 4, label, fontName=font_name, fontSize=9, textAnchor=anchor))
    for j, s in enumerate(series):
        colour = SERIES_COLOURS[j % len(SERIES_COLOURS)]
        pts = []
        for i, v in enumerate(s.values):
            pts.extend(point(i, float(v)))
        fill = colors.Color(colour.red, colour.green, colour.blue, alpha=0.18) if not s.dashed else None
        d.add(
            Polygon(
                pts,
                fillColor=fill,
                strokeColor=colour,
                strokeWidth=1.6,
                strokeDashArray=[3, 2] if s.dashed else None,
            )
        )
    if series:
        legend = Legend()
        legend.x, legend.y = 10, legend_h
        legend.fontName = font_name
        legend.fontSize = 8
        legend.alignment = "right"
        legend.colorNamePairs = [
            (SERIES_COLOURS[j % len(SERIES_COLOURS)], s.name) for j, s in enumerate(series)
        ]
        d.add(legend)
    return d


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: float = 460.0,
    height: float = 200.0,
    font_name: str = "Helvetica",
) -> Drawing:
    """Grouped vertical bars (e.g. KPI target against actual per indicator)."""
    d = Drawing(width, height + 30)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, width - 60, height - 40
    chart.data = [tuple(float(v) for v in s.values) for s in series] or [(0.0,) * len(categories)]
    chart.categoryAxis.categoryNames = list(categories)
    chart.categoryAxis.labels.fontName = font_name
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font_name
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    for j in range(len(series)):
        chart.bars[j].fillColor = SERIES_COLOURS[j % len(SERIES_COLOURS)]
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = 40, height + 20
    legend.fontName = font_name
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [(SERIES_COLOURS[j % len(SERIES_COLOURS)], s.name) for j, s in enumerate(series)]
    d.add(legend)
    return d
