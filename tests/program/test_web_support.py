"""Support records (milestones, payments, visits with notes), outcomes, and the duplicate-support
check across agencies and years (journey and ranking)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.accounts.models import Agency, User
from aion.core.db import system_session
from aion.program.models import Outcome, Support, SupportEvent
from tests.foundation.factories import World

from .conftest import login, post
from .test_web_flow import apply, create_call


def _support(engine: Engine, company_id: int, agency: str, year: int, title: str) -> int:
    with system_session(engine) as s:
        ag = s.scalar(select(Agency).where(Agency.short_name == agency))
        assert ag is not None
        row = Support(
            company_id=company_id,
            agency_id=ag.id,
            track="solution",
            year=year,
            category="solution:inspection",
            title=title,
        )
        s.add(row)
        s.flush()
        return row.id


def test_support_events_and_outcomes(client: TestClient, engine: Engine, world: World) -> None:
    sid = _support(engine, world.company_a, "UTP", 2026, "AI 비전 검사 도입")
    login(client, "consultant@test.example")
    r = post(
        client,
        f"/program/support/{sid}/events",
        {
            "kind": "visit",
            "on": "2026-06-03",
            "title": "2차 현장 방문",
            "note": "조명 고정 지그 설치 확인",
            "amount": "0",
        },
    )
    assert r.status_code == 303
    r = post(
        client,
        f"/program/support/{sid}/events",
        {"kind": "payment", "on": "2026-07-01", "title": "중도금", "amount": "-5"},
    )
    assert r.status_code == 400 and "금액" in r.text
    assert (
        post(
            client,
            f"/program/support/{sid}",
            {"status": "in_progress", "supplier": "(주)비전솔루션", "agreement_on": "2026-05-02"},
        ).status_code
        == 303
    )
    for body in (
        {"year": "2026", "metric": "defect_rate", "baseline": "3.2", "target": "2.0", "actual": "2.4"},
        {"year": "2026", "metric": "defect_rate", "baseline": "3.2", "target": "2.0", "actual": "1.9"},
    ):
        assert post(client, f"/program/companies/{world.company_a}/outcomes", body).status_code == 303
    assert (
        post(
            client,
            f"/program/companies/{world.company_a}/outcomes",
            {"year": "2026", "metric": "happiness", "actual": "1"},
        ).status_code
        == 400
    )
    with system_session(engine) as s:
        events = list(s.scalars(select(SupportEvent)))
        assert [(e.kind, e.title) for e in events] == [("visit", "2차 현장 방문")]
        sup = s.get(Support, sid)
        assert sup is not None and (sup.status, sup.supplier) == ("in_progress", "(주)비전솔루션")
        outcomes = list(s.scalars(select(Outcome)))
        assert [(o.metric, o.actual) for o in outcomes] == [("defect_rate", 1.9)]  # updated, not duplicated
    login(client, "member@alpha.example")
    page = client.get(f"/program/support/{sid}")
    assert "조명 고정 지그 설치 확인" in page.text and "기록 추가" not in page.text
    journey = client.get(f"/program/companies/{world.company_a}/journey")
    assert "1.9" in journey.text and "불량률" in journey.text


def test_duplicate_support_is_flagged_on_journey_and_ranking(
    client: TestClient, engine: Engine, world: World
) -> None:
    _support(engine, world.company_a, "UTP", 2025, "비전 검사 구축")
    call_id = create_call(client, blind=True)
    a_id = apply(client, "member@alpha.example", call_id, "프레스 라인 비전 검사")
    apply(client, "admin@beta.example", call_id, "용접 검사")
    login(client, "operator@test.example")
    with system_session(engine) as s:
        ev = s.get(User, world.users["evaluator"])
        assert ev is not None
        from aion.program.models import ProgramCall
        from aion.program.service import review

        call = s.get(ProgramCall, call_id)
        assert call is not None
        review.assign(s, call, ev)
        for a in review.call_assignments(s, call):
            review.declare(s, a, False, "")
            review.save_scores(
                s, a, call, {"need": ("4", "근거 충분함"), "impact": ("4", "근거 충분함")}, submit=True
            )
    page = client.get(f"/program/calls/{call_id}/ranking")
    assert page.text.count("중복 지원 의심") == 1 and "2025 UTP" in page.text
    assert "알파정밀" not in page.text  # the warning does not reveal the blind applicant
    assert post(client, f"/program/calls/{call_id}/select").status_code == 303
    journey = client.get(f"/program/companies/{world.company_a}/journey")
    assert 'id="duplicates"' in journey.text
    assert 'id="duplicates"' not in client.get(f"/program/companies/{world.company_b}/journey").text
    with system_session(engine) as s:
        sup = s.scalars(select(Support).where(Support.application_id == a_id)).one()
        assert sup.category == "solution:inspection"
