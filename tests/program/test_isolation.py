"""Every program route that takes an id refuses other companies' members (404) and the roles
that should not see it (403, or 404 where the record is reached only through an assignment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aion.accounts.models import User
from aion.core.db import system_session
from aion.program.models import ApplicationFile, ProgramCall, Support
from aion.program.schemas import CallInput
from aion.program.service import calls, diagnoses, review
from aion.program.service.common import DEFAULT_RUBRIC, now
from tests.foundation.factories import World

from .conftest import login, post


@dataclass
class Ids:
    call: int
    app_a: int
    app_b: int
    file_a: int
    info_a: int
    diag_a: int
    asg_a: int  # evaluator 1 on company A's application
    support_a: int = 0


def make_records(engine: Engine, world: World) -> Ids:
    with system_session(engine, actor="tests") as s:
        call = calls.create_call(
            s,
            CallInput(
                code="T-1",
                year=now().year,
                track="solution",
                agency_id=1,
                title="시험 공고",
                description="",
                n_select=1,
                n_reserve=0,
                min_score=None,
                aggregation="mean",
                blind=True,
                opens_at=now() - timedelta(hours=1),
                closes_at=now() + timedelta(days=1),
                form_fields=[],
                attachments=["사업자등록증"],
                rubric=DEFAULT_RUBRIC,
            ),
        )
        ids = []
        for key in ("a_member", "b_member"):
            user = s.get(User, world.users[key])
            assert user is not None
            app = calls.start_application(s, call, user)
            calls.save_answers(s, app, {"employees": "20", "industry_code": "C29"})
            f = calls.add_file(s, app, "사업자등록증", "brn.pdf", "application/pdf", b"%PDF-1.4")
            calls.submit(s, app, user)
            ids.append((app, f))
        operator = s.get(User, world.users["operator"])
        consultant = s.get(User, world.users["consultant"])
        evaluator = s.get(User, world.users["evaluator"])
        assert operator and consultant and evaluator
        info = calls.request_info(s, ids[0][0], "자료를 보완해 주십시오", operator)
        a_company = ids[0][0].company
        d = diagnoses.create(
            s,
            a_company,
            consultant,
            assessor="consultant",
            answers={q: "2" for q in diagnoses.questionnaire().question_ids()},
            focus=["defects"],
            assessed_on=date.today(),
        )
        review.assign(s, call, evaluator)
        asg = next(a for a in review.call_assignments(s, call) if a.application_id == ids[0][0].id)
        support = Support(
            company_id=a_company.id,
            agency_id=1,
            track="solution",
            year=2026,
            category="solution",
            title="AI 비전 검사 도입",
        )
        s.add(support)
        s.flush()
        return Ids(call.id, ids[0][0].id, ids[1][0].id, ids[0][1].id, info.id, d.id, asg.id, support.id)


def company_a_routes(i: Ids, company_a: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/program/applications/{i.app_a}"),
        ("GET", f"/program/applications/{i.app_a}/edit"),
        ("POST", f"/program/applications/{i.app_a}/edit"),
        ("GET", f"/program/applications/{i.app_a}/receipt"),
        ("GET", f"/program/applications/{i.app_a}/files/{i.file_a}"),
        ("POST", f"/program/applications/{i.app_a}/files"),
        ("POST", f"/program/applications/{i.app_a}/reopen"),
        ("POST", f"/program/applications/{i.app_a}/info"),
        ("GET", f"/program/applications/{i.app_a}/letter.pdf"),
        ("POST", f"/program/applications/{i.app_a}/withdraw"),
        ("POST", f"/program/info/{i.info_a}/answer"),
        ("GET", f"/program/diagnoses/{i.diag_a}"),
        ("GET", f"/program/diagnoses/{i.diag_a}/report.pdf"),
        ("GET", f"/program/diagnoses/new?company_id={company_a}"),
        ("POST", f"/program/diagnoses/new?company_id={company_a}"),
        ("GET", f"/program/companies/{company_a}/journey"),
        ("GET", f"/program/support/{i.support_a}"),
        ("POST", f"/program/support/{i.support_a}"),
        ("POST", f"/program/support/{i.support_a}/events"),
        ("POST", f"/program/companies/{company_a}/outcomes"),
    ]


def _call(client: TestClient, method: str, url: str) -> int:
    if method == "GET":
        return client.get(url, follow_redirects=False).status_code
    data = {
        "status": "agreed",
        "on": "2026-05-01",
        "title": "착수 보고",
        "year": "2026",
        "metric": "sales",
        "evaluator_id": "4",
        "new_close": "2030-01-01T18:00",
        "conflict": "no",
        "answer": "x" * 10,
        "question": "x" * 10,
        "kind": "사업자등록증",
        "action": "keep",
        "reason": "x" * 10,
    }
    if url.endswith("/files"):
        return post(client, url, data, files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")}).status_code
    return post(client, url, data).status_code


@pytest.mark.parametrize("who", ["b_member", "b_admin"])
def test_other_company_gets_404_everywhere(
    client: TestClient, engine: Engine, world: World, who: str
) -> None:
    ids = make_records(engine, world)
    login(client, world.emails[who])
    for method, url in company_a_routes(ids, world.company_a):
        assert _call(client, method, url) == 404, (method, url)
    # the evaluator's assignment on company A is not reachable either
    assert client.get(f"/program/assignments/{ids.asg_a}").status_code == 404
    # and the own company's application is
    assert client.get(f"/program/applications/{ids.app_b}").status_code == 200


def test_own_company_sees_its_records(client: TestClient, engine: Engine, world: World) -> None:
    ids = make_records(engine, world)
    login(client, world.emails["a_member"])
    for url in (
        f"/program/applications/{ids.app_a}",
        f"/program/applications/{ids.app_a}/receipt",
        f"/program/applications/{ids.app_a}/files/{ids.file_a}",
        f"/program/diagnoses/{ids.diag_a}",
        f"/program/diagnoses/{ids.diag_a}/report.pdf",
        f"/program/companies/{world.company_a}/journey",
    ):
        assert client.get(url).status_code == 200, url


def test_evaluators_reach_only_their_assignments(client: TestClient, engine: Engine, world: World) -> None:
    ids = make_records(engine, world)
    login(client, "evaluator2@test.example")  # not assigned
    assert client.get(f"/program/assignments/{ids.asg_a}").status_code == 404
    assert post(client, f"/program/assignments/{ids.asg_a}/declare", {"conflict": "no"}).status_code == 404
    assert post(client, f"/program/assignments/{ids.asg_a}/score", {"action": "save"}).status_code == 404
    for method, url in company_a_routes(ids, world.company_a):
        assert _call(client, method, url) in (403, 404), (method, url)
    login(client, "evaluator@test.example")  # assigned
    assert client.get(f"/program/assignments/{ids.asg_a}").status_code == 200
    assert client.get(f"/program/applications/{ids.app_a}").status_code == 403


STAFF_ONLY = [
    ("GET", "/program/calls/new"),
    ("POST", "/program/calls/new"),
    ("GET", "/program/calls/{call}/review"),
    ("POST", "/program/calls/{call}/evaluators"),
    ("GET", "/program/calls/{call}/ranking"),
    ("GET", "/program/calls/{call}/ranking.csv"),
    ("POST", "/program/calls/{call}/select"),
    ("POST", "/program/calls/{call}/extend"),
    ("POST", "/program/assignments/{asg}/override"),
    ("POST", "/program/assignments/{asg}/moderate"),
    ("GET", "/program/kpi"),
    ("GET", "/program/kpi.xlsx?year=2026"),
    ("GET", "/program/kpi.pdf?year=2026"),
    ("GET", "/program/comparison.xlsx?year=2026"),
    ("GET", "/program/outbox"),
]


@pytest.mark.parametrize("who", ["a_member", "a_admin", "evaluator"])
def test_roles_refused_operator_pages(client: TestClient, engine: Engine, world: World, who: str) -> None:
    ids = make_records(engine, world)
    login(client, world.emails[who])
    for method, url in STAFF_ONLY:
        url = url.format(call=ids.call, asg=ids.asg_a)
        assert _call(client, method, url) == 403, (who, method, url)


def test_company_users_read_but_do_not_edit_their_support(
    client: TestClient, engine: Engine, world: World
) -> None:
    ids = make_records(engine, world)
    login(client, world.emails["a_admin"])
    assert client.get(f"/program/support/{ids.support_a}").status_code == 200
    for url in (
        f"/program/support/{ids.support_a}",
        f"/program/support/{ids.support_a}/events",
        f"/program/companies/{world.company_a}/outcomes",
    ):
        assert _call(client, "POST", url) == 403, url
    login(client, world.emails["evaluator"])
    assert client.get(f"/program/support/{ids.support_a}").status_code == 404


def test_company_member_cannot_assess_as_consultant_nor_apply_for_other(
    client: TestClient, engine: Engine, world: World
) -> None:
    ids = make_records(engine, world)
    login(client, world.emails["evaluator"])
    assert post(client, f"/program/calls/{ids.call}/apply").status_code == 403
    login(client, world.emails["consultant"])
    assert post(client, f"/program/calls/{ids.call}/apply").status_code == 403
    assert client.get(f"/program/diagnoses/new?company_id={world.company_b}").status_code == 200
    with system_session(engine) as s:
        f = s.get(ApplicationFile, ids.file_a)
        assert f is not None and f.company_id == world.company_a
        assert s.get(ProgramCall, ids.call) is not None


def test_every_program_id_route_is_covered(client: TestClient) -> None:
    """A new /program route with an id must be proven here (the foundation test defers to this file)."""
    from aion.web.routes import id_routes

    ids = Ids(-1, -2, -3, -4, -5, -6, -7, -9)
    names = {
        "-1": "{call_id}",
        "-2": "{app_id}",
        "-4": "{file_id}",
        "-5": "{req_id}",
        "-6": "{diagnosis_id}",
        "-7": "{assignment_id}",
        "-8": "{company_id}",
        "-9": "{support_id}",
    }

    def template(url: str) -> str:
        return "/".join(names.get(part, part) for part in url.split("?")[0].split("/"))

    covered = {(m, template(u)) for m, u in company_a_routes(ids, -8)}
    covered |= {(m, template(u.format(call=-1, asg=-7))) for m, u in STAFF_ONLY}
    covered |= {  # evaluator-only routes (test_evaluators_reach_only_their_assignments) and public calls
        ("GET", "/program/assignments/{assignment_id}"),
        ("POST", "/program/assignments/{assignment_id}/declare"),
        ("POST", "/program/assignments/{assignment_id}/score"),
        ("POST", "/program/calls/{call_id}/apply"),
        ("GET", "/program/calls/{call_id}"),
    }
    program = {(m, p) for m, p in id_routes(client.app) if p.startswith("/program/")}
    assert len(program) >= 25 and program - covered == set()


def test_an_evaluator_dashboard_lists_the_reviews_to_do_under_their_blind_names(
    client: TestClient, engine: Engine, world: World
) -> None:
    ids = make_records(engine, world)
    login(client, "evaluator2@test.example")  # not assigned
    home = client.get("/").text
    assert 'id="panel-reviews"' in home and "아직 배정된 업무가 없습니다" in home
    assert f"/program/assignments/{ids.asg_a}" not in home
    login(client, "evaluator@test.example")  # on both applications of a blind call
    home = client.get("/").text
    panel = home[home.index('id="panel-reviews"') :]
    assert f'href="/program/assignments/{ids.asg_a}">시험 공고 · 지원자 ' in panel
    assert "이해충돌 신고 전" in panel and "할 일 2건, 제출 0건" in panel
    assert "알파" not in home and "베타" not in home  # no company name before the declaration
    assert post(client, f"/program/assignments/{ids.asg_a}/declare", {"conflict": "no"}).status_code in (
        200,
        303,
    )
    panel = client.get("/").text.split('id="panel-reviews"')[1]
    assert "평가 중" in panel and "할 일 2건" in panel
    # a company's user has no review panel
    login(client, "member@alpha.example")
    assert 'id="panel-reviews"' not in client.get("/").text
