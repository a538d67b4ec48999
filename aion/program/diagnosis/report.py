"""The diagnosis report as a Korean PDF with a radar chart of the dimensions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from aion.program.charts import Series, radar_chart
from aion.program.diagnosis.compare import Comparison
from aion.program.diagnosis.questionnaire import Questionnaire
from aion.program.diagnosis.recommend import Diagnosis
from aion.program.pdfkit import build_pdf, korean_styles, para, table

ASSESSOR_NAMES = {"self": "자가진단 / Self-assessment", "consultant": "컨설턴트 진단 / Consultant assessment"}

Progress = Callable[[str, float], None]


def render_diagnosis_pdf(
    diagnosis: Diagnosis,
    questionnaire: Questionnaire,
    *,
    company_name: str,
    comparison: Comparison | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> bytes:
    """Render the diagnosis report; return PDF bytes and write ``out`` when given.

    With ``comparison`` (from :func:`compare_assessments`), the radar chart also shows the
    baseline and the report has a table of change since the baseline.
    """
    report = progress or (lambda _msg, _frac: None)
    report("글꼴 준비 / Preparing fonts", 0.0)
    st = korean_styles()
    result = diagnosis.result
    a = result.assessment
    story: list[Flowable] = []
    story.append(para(f"{questionnaire.title.ko} 보고서", st.title))
    story.append(para(f"{questionnaire.title.en} report", st.small))
    story.append(Spacer(1, 4 * mm))
    info = [
        ["항목 / Item", "내용 / Value"],
        ["기업명 / Company", company_name],
        ["사업자등록번호 / Business registration no.", a.company_brn],
        ["진단일 / Date", a.assessed_on.isoformat()],
        [
            "진단 구분 / Assessor",
            ASSESSOR_NAMES.get(a.assessor, a.assessor) + (f" ({a.assessor_name})" if a.assessor_name else ""),
        ],
        [
            "종합 점수 / Overall",
            f"{result.overall:.2f} / 4  ({result.band.level}단계 {result.band.name.both()})",
        ],
    ]
    story.append(table(info, st, [60 * mm, 112 * mm]))

    report("레이더 차트 / Radar chart", 0.3)
    story.append(para("영역별 준비도 / Readiness by dimension", st.h2))
    labels = [d.name.ko for d in result.dimensions]
    series = [Series(f"{a.assessed_on.isoformat()} 현재 / current", [d.score for d in result.dimensions])]
    if comparison is not None and comparison.baseline is not result:
        base = comparison.baseline
        series.append(
            Series(
                f"{base.assessment.assessed_on.isoformat()} 기준 / baseline",
                [base.dimension(d.dimension_id).score for d in result.dimensions],
                dashed=True,
            )
        )
    series.append(Series("목표 / target", [float(d.target) for d in result.dimensions], dashed=True))
    if len(labels) >= 3:  # a radar needs three axes; an edited questionnaire may have fewer
        story.append(radar_chart(labels, series, font_name=st.font.regular_name))
    rows: list[list[str]] = [
        ["영역 / Dimension", "점수 / Score", "수준 / Level", "목표 / Target", "격차 / Gap"]
    ]
    for d in result.dimensions:
        rows.append(
            [
                d.name.both(),
                f"{d.score:.2f} ({d.percent:.0f}%)",
                f"{d.level} {d.band.name.both()}",
                str(d.target),
                f"{d.gap:.2f}",
            ]
        )
    story.append(table(rows, st, [48 * mm, 28 * mm, 46 * mm, 25 * mm, 25 * mm]))

    if comparison is not None and len(comparison.points) > 1:
        story.append(para("기준 진단 대비 변화 / Change since the baseline", st.h2))
        head = [
            "진단일 / Date",
            "구분 / Assessor",
            "종합 / Overall",
            "기준 대비 / vs baseline",
            "직전 대비 / vs previous",
        ]
        crow: list[list[str]] = [head]
        for p in comparison.points:
            pa = p.result.assessment
            crow.append(
                [
                    pa.assessed_on.isoformat(),
                    ASSESSOR_NAMES.get(pa.assessor, pa.assessor).split(" / ")[0],
                    f"{p.result.overall:.2f}",
                    f"{p.overall_change:+.2f}",
                    f"{p.overall_change_previous:+.2f}",
                ]
            )
        story.append(table(crow, st))
        latest = comparison.latest
        drow: list[list[str]] = [["영역 / Dimension", "기준 / Baseline", "최근 / Latest", "변화 / Change"]]
        for dc in latest.dimensions:
            name = questionnaire.dimension(dc.dimension_id).name.both()
            drow.append(
                [
                    name,
                    f"{comparison.baseline.dimension(dc.dimension_id).score:.2f}",
                    f"{dc.score:.2f}",
                    f"{dc.change:+.2f}",
                ]
            )
        story.append(Spacer(1, 2 * mm))
        story.append(table(drow, st))

    report("권고 사항 / Recommendations", 0.6)
    story.append(para("적합 솔루션 / Fitting AI-on solution", st.h2))
    best = diagnosis.best_fit
    if best is None:
        story.append(
            para(
                "현장 과제가 선택되지 않아 솔루션을 추천하지 않았습니다. / "
                "No shop-floor problem was chosen, so no solution is recommended.",
                st.body,
            )
        )
    else:
        frows: list[list[str]] = [["솔루션 / Solution", "적합도 / Fit", "근거 / Reasons", "준비 / Ready"]]
        for f in diagnosis.fits:
            ready = "예 / yes" if f.ready else "선행 과제 필요 / prerequisites first"
            frows.append([f.name.both(), f"{f.fit:g}", ", ".join(r.ko for r in f.reasons) or "-", ready])
        story.append(table(frows, st, [50 * mm, 18 * mm, 66 * mm, 38 * mm]))
        story.append(para(f"우선 수집할 데이터 ({best.name.ko}) / Data to collect first", st.h2))
        for t in best.data_first:
            story.append(para(f"• {t.ko}", st.body))
            story.append(para(f"  {t.en}", st.small))
    story.append(para("개선 권고 / Recommendations", st.h2))
    if not diagnosis.recommendations:
        story.append(para("모든 영역이 목표 수준입니다. / Every dimension is at its target.", st.body))
    for r in diagnosis.recommendations:
        name = questionnaire.dimension(r.dimension_id).name.ko
        story.append(para(f"[{name}] {r.text.ko}", st.body))
        story.append(para(r.text.en, st.small))
    story.append(para("로드맵 / Roadmap", st.h2))
    for phase in diagnosis.roadmap:
        story.append(para(phase.phase.name.both(), st.body))
        lines = "\n".join(f"• {item.text.ko}" for item in phase.items) or "-"
        story.append(para(lines, st.cell))
        if phase is not diagnosis.roadmap[-1]:
            story.append(Spacer(1, 2 * mm))
    report("PDF 작성 / Writing PDF", 0.9)
    data = build_pdf(
        story,
        title=f"{questionnaire.title.ko} - {company_name}",
        out=out,
        footer=f"AI-on · {company_name} · {a.assessed_on.isoformat()}",
    )
    report("완료 / Done", 1.0)
    return data
