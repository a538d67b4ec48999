"""The diagnosis PDF: Hangul text is really in it, with the chart and comparison."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pypdf
import pytest

from aion.program.diagnosis.compare import compare_assessments
from aion.program.diagnosis.questionnaire import load_questionnaire
from aion.program.diagnosis.recommend import diagnose
from aion.program.diagnosis.report import render_diagnosis_pdf
from aion.program.diagnosis.scoring import Assessment, score_assessment
from aion.program.errors import ReportError
from aion.program.fonts import find_korean_font


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_report_contains_hangul_scores_and_comparison(tmp_path: Path) -> None:
    q = load_questionnaire()
    ids = q.question_ids()
    first = Assessment("220-81-62517", date(2026, 3, 2), "consultant", dict.fromkeys(ids, 1))
    latest = Assessment(
        "220-81-62517",
        date(2026, 11, 2),
        "consultant",
        dict.fromkeys(ids, 2),
        focus=frozenset({"accidents", "cctv"}),
        assessor_name="김진단",
    )
    d = diagnose(q, latest)
    comp = compare_assessments([score_assessment(q, first), d.result])
    steps: list[tuple[str, float]] = []
    out = tmp_path / "진단.pdf"
    data = render_diagnosis_pdf(
        d,
        q,
        company_name="(주)한빛정밀 <테스트>",
        comparison=comp,
        out=out,
        progress=lambda m, f: steps.append((m, f)),
    )
    assert out.read_bytes() == data
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in [
        "제조 AI 도입 준비도 진단",
        "(주)한빛정밀 <테스트>",
        "김진단",
        "거버넌스",
        "프로세스·자동화",
        "작업장 안전 AI",
        "기준 진단 대비 변화",
        "로드맵",
        "+1.00",
        "220-81-62517",
    ]:
        assert expected in text.replace("\n", " ") or expected in text, expected
    assert steps[0][1] == 0.0 and steps[-1][1] == 1.0


def test_font_lookup_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AION_KOREAN_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(ReportError, match="missing.ttf"):
        find_korean_font()
    monkeypatch.delenv("AION_KOREAN_FONT")
    font = find_korean_font()
    assert font.regular.suffix.lower() == ".ttf"


def test_font_search_falls_back_then_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import aion.program.fonts as fonts

    monkeypatch.delenv("AION_KOREAN_FONT", raising=False)
    monkeypatch.setattr(fonts, "NANUM_REGULAR", tmp_path / "none" / "NanumGothic.ttf")
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path,))
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"not korean")
    with pytest.raises(ReportError, match="fonts-nanum"):
        find_korean_font()
    sub = tmp_path / "noto"
    sub.mkdir()
    (sub / "NotoSansKR-Regular.ttf").write_bytes(b"x")
    (sub / "NotoSansKR-Bold.ttf").write_bytes(b"x")
    font = find_korean_font()
    assert font.regular.name == "NotoSansKR-Regular.ttf"
    assert font.bold.name == "NotoSansKR-Bold.ttf"


def test_report_of_an_edited_two_dimension_questionnaire() -> None:
    from aion.program.diagnosis.questionnaire import Questionnaire

    data = load_questionnaire().to_dict()
    data["dimensions"] = data["dimensions"][:2]
    data["rules"] = [
        r for r in data["rules"] if (r["dimension"] or r["question"]).split(".")[0] in {"strategy", "data"}
    ]
    data["solutions"] = [dict(s, requires={}) for s in data["solutions"]]
    q = Questionnaire.from_dict(data)
    a = Assessment("220-81-62517", date(2026, 3, 2), "self", dict.fromkeys(q.question_ids(), 0))
    text = pdf_text(render_diagnosis_pdf(diagnose(q, a), q, company_name="가나다"))
    assert "데이터 / Data" in text and "거버넌스" not in text
