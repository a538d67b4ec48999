"""Diagnosis pages (consultant and self-assessment, baseline, PDF), KPI dashboard and exports,
the company journey, the KPI command, and the demo program year."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from aion.accounts.models import Agency, User
from aion.core.db import system_session
from aion.program.models import Diagnosis, ProgramCall, Support
from aion.program.service import diagnoses
from tests.foundation.factories import World

from .conftest import login, post


def answers(level: int) -> dict[str, str]:
    return {q: str(level) for q in diagnoses.questionnaire().question_ids()}


def test_consultant_diagnosis_baseline_change_and_pdf(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "consultant@test.example")
    url = f"/program/diagnoses/new?company_id={world.company_a}"
    form = client.get(url)
    assert form.status_code == 200 and "데이터" in form.text
    # incomplete: refused with a clear message, nothing stored
    r = post(client, url, {"strategy.vision": "2", "assessed_on": "2026-04-20"})
    assert r.status_code == 400 and "답하지 않은 문항" in r.text
    with system_session(engine) as s:
        assert s.scalar(select(func.count(Diagnosis.id))) == 0
    r = post(client, url, {**answers(1), "assessed_on": "2026-04-20", "focus": "defects"})
    assert r.status_code == 303
    first = int(r.headers["location"].split("/")[-1].split("?")[0])
    r = post(client, url, {**answers(3), "assessed_on": "2026-11-16", "focus": "defects"})
    later = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = client.get(f"/program/diagnoses/{first}")
    assert "기준 진단" in page.text and "<svg" in page.text
    page = client.get(f"/program/diagnoses/{later}")
    assert "기준 대비 변화" in page.text and "+2.00" in page.text
    pdf = client.get(f"/program/diagnoses/{later}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "알파정밀" in text and "데이터" in text
    journey = client.get(f"/program/companies/{world.company_a}/journey")
    assert journey.text.count("/program/diagnoses/") >= 2


def test_company_self_assessment_only_for_own_company(client: TestClient, world: World) -> None:
    login(client, "member@alpha.example")
    r = post(
        client,
        f"/program/diagnoses/new?company_id={world.company_a}",
        {**answers(2), "assessed_on": "2026-03-02"},
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "자가진단" in page.text
    assert client.get(f"/program/diagnoses/new?company_id={world.company_b}").status_code == 404


def test_kpi_dashboard_exports_and_cli(
    client: TestClient,
    engine: Engine,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    with system_session(engine) as s:
        agency = s.scalars(select(Agency)).first()
        consultant = s.get(User, world.users["consultant"])
        assert agency is not None and consultant is not None
        consultant.agency_id = agency.id
        company = consultant.company  # None: the consultant is agency staff
        assert company is None
        from aion.accounts.models import Company

        a = s.get(Company, world.company_a)
        b = s.get(Company, world.company_b)
        assert a is not None and b is not None
        for c in (a, b):
            diagnoses.create(
                s,
                c,
                consultant,
                assessor="consultant",
                answers=answers(2),
                focus=[],
                assessed_on=date(2026, 5, 1),
            )
        diagnoses.create(
            s, a, consultant, assessor="self", answers=answers(2), focus=[], assessed_on=date(2026, 5, 2)
        )
        s.add(
            Support(
                company_id=a.id,
                agency_id=agency.id,
                track="solution",
                year=2026,
                category="solution:x",
                title="AI 솔루션",
            )
        )
    login(client, "operator@test.example")
    page = client.get("/program/kpi?year=2026")
    assert page.status_code == 200 and "<svg" in page.text
    assert 'data-indicator="diagnosis"' in page.text
    row = page.text.split('data-indicator="diagnosis"')[1].split("</tr>")[0]
    assert '<td class="actual">2</td>' in row  # two companies with a consultant diagnosis; the self one not
    x = client.get("/program/kpi.xlsx?year=2026")
    wb = load_workbook(io.BytesIO(x.content))
    ws = wb.worksheets[0]
    values = {(r[1], r[5]) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert any("진단" in str(name) and actual == 2 for name, actual in values), values
    assert any("솔루션" in str(name) and actual == 1 for name, actual in values), values
    assert client.get("/program/kpi.pdf?year=2026").content[:4] == b"%PDF"
    assert client.get("/program/comparison.xlsx?year=2026").status_code == 200

    from aion.cli import _register, app
    from aion.settings import get_settings

    monkeypatch.setenv("AION_DATABASE_URL", db_url)
    get_settings.cache_clear()
    _register()
    out = tmp_path / "kpi.xlsx"
    result = CliRunner().invoke(
        app, ["program", "kpi", "--year", "2026", "--xlsx", str(out), "--pdf", str(tmp_path / "kpi.pdf")]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2 / 150" in result.output
    assert load_workbook(out).worksheets[0].max_row > 1 and (tmp_path / "kpi.pdf").read_bytes()[:4] == b"%PDF"


def test_demo_program_year_fills_the_pages(client: TestClient, engine: Engine, world: World) -> None:
    from aion.program.demo import load_demo

    with system_session(engine, actor="demo") as s:
        for short in ("USTI", "UOU", "USC"):
            s.add(Agency(name=short, short_name=short))
        s.flush()
        load_demo(s, year=2026, scale=0.05)
    login(client, "operator@test.example")
    kpi = client.get("/program/kpi?year=2026")
    row = kpi.text.split('data-indicator="solution"')[1].split("</tr>")[0]
    assert '<td class="actual">0</td>' not in row
    with system_session(engine) as s:
        decided = s.scalars(select(ProgramCall).where(ProgramCall.decided_at.is_not(None))).first()
        open_call = s.scalars(select(ProgramCall).where(ProgramCall.decided_at.is_(None))).first()
        d = s.scalars(select(Diagnosis)).first()
        assert decided is not None and open_call is not None and d is not None
        ids = (decided.id, open_call.id, d.id, d.company_id)
    ranking = client.get(f"/program/calls/{ids[0]}/ranking")
    assert ranking.status_code == 200 and "선정" in ranking.text
    assert client.get(f"/program/calls/{ids[1]}").status_code == 200
    assert client.get(f"/program/diagnoses/{ids[2]}").status_code == 200
    assert client.get(f"/program/companies/{ids[3]}/journey").status_code == 200
    assert "접수 중" in client.get("/program").text


def test_operator_edits_the_questionnaire_as_a_new_version(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "consultant@test.example")
    r = post(
        client,
        f"/program/diagnoses/new?company_id={world.company_a}",
        {**answers(2), "assessed_on": "2026-04-01"},
    )
    first = r.headers["location"].split("?")[0]
    login(client, "operator@test.example")
    page = client.get("/program/questionnaire")
    assert page.status_code == 200 and 'id="q-version">1<' in page.text
    text = diagnoses.as_yaml(diagnoses.seed())
    edited = text.replace(
        "경영진이 AI 도입 목표와 기대 효과를 정의하고 있습니까?", "대표이사가 AI 도입 목표를 정했습니까?"
    )
    assert edited != text
    bad = post(client, "/program/questionnaire", {"text": "dimensions: [", "note": "broken"})
    assert bad.status_code == 400 and "YAML" in bad.text
    with system_session(engine) as s:
        assert diagnoses.questionnaire(s).version == 1  # nothing stored
    assert post(client, "/program/questionnaire", {"text": edited, "note": "문구 수정"}).status_code == 303
    assert 'id="q-version">2<' in client.get("/program/questionnaire").text
    login(client, "consultant@test.example")
    form = client.get(f"/program/diagnoses/new?company_id={world.company_a}")
    assert "대표이사가 AI 도입 목표를 정했습니까?" in form.text
    r = post(
        client,
        f"/program/diagnoses/new?company_id={world.company_a}",
        {**answers(3), "assessed_on": "2026-10-01"},
    )
    assert r.status_code == 303
    with system_session(engine) as s:
        assert sorted(d.questionnaire_version for d in s.scalars(select(Diagnosis))) == [1, 2]
    assert client.get(first).status_code == 200  # the old diagnosis still renders with its version
    assert client.get(r.headers["location"].split("?")[0] + "/report.pdf").status_code == 200
    login(client, "member@alpha.example")
    assert client.get("/program/questionnaire").status_code == 403
    assert post(client, "/program/questionnaire", {"text": edited}).status_code == 403
