"""KPI exports: Excel (openpyxl) with charts, PDF (reportlab), comparison-group Excel and CSV.

Sheet and column headers are Korean with English, as the city and ministry forms are.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aion.program.errors import KPIError
from aion.program.kpi.outcomes import METRICS, CompanyYearRow
from aion.program.kpi.rollup import KPIReport, RollupRow

__all__ = ["export_comparison_csv", "export_comparison_xlsx", "export_kpi_pdf", "export_kpi_xlsx"]

Progress = Callable[[str, float], None]

KPI_HEADERS = (
    "연도 / Year",
    "지표 / Indicator",
    "기관 / Agency",
    "트랙 / Track",
    "목표 / Target",
    "실적 / Actual",
    "달성률 / Rate",
    "단위 / Unit",
)
PDF_HEADERS = (
    "지표 / Indicator",
    "기관 / Agency",
    "트랙 / Track",
    "목표 / Target",
    "실적 / Actual",
    "달성률 / Rate",
)
LEVEL_SHEETS = (
    ("total", "요약 Summary"),
    ("agency", "기관별 By agency"),
    ("track", "트랙별 By track"),
    ("agency_track", "기관·트랙 By agency & track"),
)
COMPARISON_HEADERS = {
    "brn": "사업자등록번호 / BRN",
    "name": "기업명 / Company",
    "year": "연도 / Year",
    "region": "지역 / Region",
    "industry_code": "업종 / KSIC",
    "employees": "종업원 / Employees",
    "supported": "해당연도 지원 / Supported this year",
    "ever_supported": "누적 지원 / Supported so far",
    "first_support_year": "최초 지원연도 / First support year",
    "tracks": "트랙 / Tracks",
    "agencies": "기관 / Agencies",
    "support_amount_krw": "지원금(원) / Support (KRW)",
    **{m: f"{name.ko} / {name.en} ({unit.en})" for m, (name, unit, _) in METRICS.items()},
}


def _noop(_msg: str, _frac: float) -> None:
    return None


def _row_values(report: KPIReport, r: RollupRow) -> list[Any]:
    ind = report.indicator(r.indicator)
    return [
        r.year,
        f"{ind.name.ko} / {ind.name.en}",
        r.agency or "전체 / All",
        r.track or "전체 / All",
        r.target,
        r.actual,
        r.rate,
        ind.unit.ko,
    ]


def _save(wb: Any, out: str | Path) -> Path:
    p = Path(out)
    try:
        wb.save(p)
    except OSError as e:
        raise KPIError(f"파일을 저장할 수 없습니다: {p} / Cannot write file: {p}") from e
    return p


def _style_sheet(ws: Any, widths: Sequence[int]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E9EEF6")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"


def export_kpi_xlsx(report: KPIReport, out: str | Path, *, progress: Progress | None = None) -> Path:
    """Write the KPI report to ``out`` (.xlsx): one sheet per level, a chart on the summary."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    step = progress or _noop
    wb = Workbook()
    first = True
    for i, (level, title) in enumerate(LEVEL_SHEETS):
        step(f"{title}", i / len(LEVEL_SHEETS))
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = title
        ws.append(list(KPI_HEADERS))
        for r in report.select(level):
            ws.append(_row_values(report, r))
        for row in ws.iter_rows(min_row=2, min_col=7, max_col=7):
            for cell in row:
                cell.number_format = "0.0%"
        _style_sheet(ws, (8, 30, 20, 20, 10, 10, 10, 8))
        if level == "total" and ws.max_row > 1:
            chart = BarChart()
            chart.title = "목표 대비 실적 / Target vs actual"
            chart.y_axis.title = "개사 / companies"
            data = Reference(ws, min_col=5, max_col=6, min_row=1, max_row=ws.max_row)
            cats = Reference(ws, min_col=2, min_row=2, max_row=ws.max_row)
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(cats)
            chart.width, chart.height = 22, 10
            ws.add_chart(chart, f"A{ws.max_row + 3}")
    path = _save(wb, out)
    step("완료 / Done", 1.0)
    return path


def export_kpi_pdf(
    report: KPIReport, out: str | Path | None = None, *, title: str = "", progress: Progress | None = None
) -> bytes:
    """The KPI report as a Korean PDF: a target-vs-actual chart per year and the tables."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Flowable, Spacer

    from aion.program.charts import Series, bar_chart
    from aion.program.pdfkit import build_pdf, korean_styles, para, table

    step = progress or _noop
    step("글꼴 준비 / Preparing fonts", 0.0)
    st = korean_styles()
    years = (
        "-".join(str(y) for y in (report.years[0], report.years[-1]))
        if len(report.years) > 1
        else str(report.years[0])
    )
    heading = title or f"제조 AI 지원사업 성과 지표 {years}"
    story: list[Flowable] = [
        para(heading, st.title),
        para(f"Program KPIs {years}", st.small),
        Spacer(1, 4 * mm),
    ]
    for y in report.years:
        totals = report.select("total", year=y)
        story.append(para(f"{y}년 목표 대비 실적 / Target vs actual {y}", st.h2))
        cats = [report.indicator(r.indicator).name.ko for r in totals]
        story.append(
            bar_chart(
                cats,
                [
                    Series("목표 / target", [r.target or 0 for r in totals]),
                    Series("실적 / actual", [r.actual for r in totals]),
                ],
                font_name=st.font.regular_name,
            )
        )
        for level, sheet_title in LEVEL_SHEETS[:3]:
            rows = report.select(level, year=y)
            if not rows:
                continue
            story.append(para(sheet_title.replace(" ", " / ", 1), st.h2))
            data: list[list[str]] = [list(PDF_HEADERS)]
            for r in rows:
                ind = report.indicator(r.indicator)
                data.append([
                    ind.name.ko, r.agency or "전체", r.track or "전체",
                    "-" if r.target is None else f"{r.target:g}", f"{r.actual:g}",
                    "-" if r.rate is None else f"{r.rate:.1%}",
                ])  # fmt: skip
            story.append(table(data, st, [44 * mm, 30 * mm, 30 * mm, 22 * mm, 22 * mm, 24 * mm]))
        step(f"{y}", 0.2 + 0.7 * (report.years.index(y) + 1) / len(report.years))
    data_bytes = build_pdf(story, title=heading, out=out, footer=f"AI-on · {heading}")
    step("완료 / Done", 1.0)
    return data_bytes


def export_comparison_xlsx(rows: Sequence[CompanyYearRow], out: str | Path) -> Path:
    """The comparison-group table (one row per company per year) as .xlsx."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "비교군 Comparison group"
    keys = list(COMPARISON_HEADERS)
    ws.append([COMPARISON_HEADERS[k] for k in keys])
    for r in rows:
        d = r.as_dict()
        ws.append([d[k] for k in keys])
    _style_sheet(ws, [14, 20, 7, 16, 10, 10, 10, 10, 10, 16, 16, 14] + [14] * len(METRICS))
    return _save(wb, out)


def export_comparison_csv(rows: Sequence[CompanyYearRow], out: str | Path) -> Path:
    """The comparison-group table as UTF-8 CSV with a BOM (Excel opens Hangul correctly) and plain keys."""
    p = Path(out)
    keys = list(COMPARISON_HEADERS)
    try:
        with p.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            for r in rows:
                w.writerow({k: "" if v is None else v for k, v in r.as_dict().items()})
    except OSError as e:
        raise KPIError(f"파일을 저장할 수 없습니다: {p} / Cannot write file: {p}") from e
    return p
