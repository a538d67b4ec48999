"""The program pages end to end over HTTP (real app, real database): call, applications,
conflict declarations and blind scoring, ranking and selection, decision letters, outbox."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, select

from aion.core.db import system_session
from aion.program.models import Application, Assignment, OutboxMessage, ProgramCall, Support
from aion.program.service.common import KST
from tests.foundation.factories import World

from .conftest import login, post


def _local(dt: datetime) -> str:
    return dt.astimezone(KST).strftime("%Y-%m-%dT%H:%M")


def create_call(client: TestClient, code: str = "2026-SOL-01", *, blind: bool = True, n: int = 1) -> int:
    login(client, "operator@test.example")
    now = datetime.now(KST)
    data = {
        "code": code,
        "title": "2026년 AI 솔루션 도입 지원",
        "year": str(now.year),
        "track": "solution",
        "agency_id": "1",
        "opens_at": _local(now - timedelta(hours=1)),
        "closes_at": _local(now + timedelta(days=2)),
        "n_select": str(n),
        "n_reserve": "1",
        "min_score": "40",
        "aggregation": "mean",
        "rule_region": "울산",
        "rule_industry": "C",
        "rule_max_employees": "300",
        "form_fields": "plan | 추진 계획 | textarea | yes",
        "attachments": "사업자등록증",
        "rubric": "need | 필요성 | 50 | 5\nimpact | 기대 효과 | 50 | 5",
    }
    if blind:
        data["blind"] = "on"
    r = post(client, "/program/calls/new", data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("/")[-1].split("?")[0])


def apply(client: TestClient, email: str, call_id: int, plan: str) -> int:
    login(client, email)
    r = post(client, f"/program/calls/{call_id}/apply")
    assert r.status_code == 303
    app_id = int(r.headers["location"].split("/")[3])
    fields = {"employees": "40", "industry_code": "C29", "plan": plan}
    r = post(client, f"/program/applications/{app_id}/edit", {**fields, "action": "submit"})
    assert r.status_code == 400 and "사업자등록증" in r.text  # attachment missing; the answers stay
    r = post(
        client,
        f"/program/applications/{app_id}/files",
        {"kind": "사업자등록증"},
        files={"file": ("brn.pdf", b"%PDF-1.4 test", "application/pdf")},
    )
    assert r.status_code == 303, r.text
    r = post(client, f"/program/applications/{app_id}/edit", {"action": "submit"})
    assert r.status_code == 303 and "/receipt" in r.headers["location"], r.text
    receipt = client.get(f"/program/applications/{app_id}/receipt")
    assert re.search(r"2026-SOL-01-000\d", receipt.text)
    return app_id


def test_a_calls_eligibility_reads_as_sentences_in_either_language(client: TestClient, world: World) -> None:
    call_id = create_call(client)
    login(client, "member@alpha.example")
    page = client.get(f"/program/calls/{call_id}").text
    for term in ("지역: 울산 소재", "업종: 한국표준산업분류 C(제조업)", "규모: 상시 근로자 300명 이하"):
        assert term in page
    # the stored form (field names, empty limits) is not what an applicant reads
    assert "max_employees" not in page and "None" not in page and "allowed=" not in page
    client.cookies.set("aion_lang", "en")
    page = client.get(f"/program/calls/{call_id}").text
    for term in (
        "Region: Located in 울산",
        "Industry: KSIC C (manufacturing)",
        "Size: 300 employees or fewer",
    ):
        assert term in page


def test_call_to_selection_blind(client: TestClient, engine: Engine, world: World) -> None:
    call_id = create_call(client)
    a_id = apply(
        client, "member@alpha.example", call_id, "알파정밀은 프레스 불량을 줄입니다 (문의 052-123-4567)"
    )
    b_id = apply(client, "admin@beta.example", call_id, "용접 비드 검사 자동화")

    # reopen until the deadline: the receipt number stays
    r = post(client, f"/program/applications/{b_id}/reopen")
    assert r.status_code == 303
    r = post(
        client,
        f"/program/applications/{b_id}/edit",
        {"plan": "용접 비드 비전 검사 자동화", "action": "submit"},
    )
    assert r.status_code == 303
    with system_session(engine) as s:
        apps = {a.id: a for a in s.scalars(select(Application))}
        assert apps[a_id].receipt_no == "2026-SOL-01-0001" and apps[b_id].receipt_no == "2026-SOL-01-0002"
        assert apps[a_id].eligible and apps[b_id].eligible

    # operator asks for more information; the applicant answers
    login(client, "operator@test.example")
    assert (
        post(
            client, f"/program/applications/{a_id}/info", {"question": "불량률 자료를 보완해 주십시오"}
        ).status_code
        == 303
    )
    login(client, "member@alpha.example")
    page = client.get(f"/program/applications/{a_id}")
    req_id = re.search(r"/program/info/(\d+)/answer", page.text).group(1)  # type: ignore[union-attr]
    assert post(client, f"/program/info/{req_id}/answer", {"answer": "첨부합니다"}).status_code == 303

    # evaluators: the third works for company A (automatic exclusion) and declares a conflict on B
    login(client, "operator@test.example")
    for key, org in (
        ("evaluator", "울산대학교"),
        ("evaluator2", "한국산업기술평가원"),
        ("evaluator3", "(주) 알파 정밀"),
    ):
        r = post(
            client,
            f"/program/calls/{call_id}/evaluators",
            {"evaluator_id": str(world.users[key]), "organisation": org},
        )
        assert r.status_code == 303, r.text
    with system_session(engine) as s:
        asg = list(s.scalars(select(Assignment)))
        assert len(asg) == 6
        ev3 = [a for a in asg if a.evaluator_id == world.users["evaluator3"]]
        assert {a.application_id for a in ev3 if a.findings} == {a_id}
        ids = {(a.evaluator_id, a.application_id): a.id for a in asg}

    # evaluator 3: excluded on A after declaring none; declares a conflict on B
    login(client, "evaluator3@test.example")
    asg_a3, asg_b3 = ids[(world.users["evaluator3"], a_id)], ids[(world.users["evaluator3"], b_id)]
    page = client.get(f"/program/assignments/{asg_a3}")
    assert "이해충돌" in page.text and "프레스 불량" not in page.text  # nothing shown before the declaration
    post(client, f"/program/assignments/{asg_a3}/declare", {"conflict": "no"})
    page = client.get(f"/program/assignments/{asg_a3}")
    assert 'id="excluded"' in page.text and "프레스 불량" not in page.text
    assert (
        post(
            client,
            f"/program/assignments/{asg_b3}/declare",
            {"conflict": "yes", "reason": "베타화학 자문 계약 중"},
        ).status_code
        == 303
    )
    assert 'id="excluded"' in client.get(f"/program/assignments/{asg_b3}").text
    assert (
        post(
            client, f"/program/assignments/{asg_b3}/score", {"score_need": "5", "action": "submit"}
        ).status_code
        == 400
    )

    # evaluators 1 and 2 score blind; "save and finish later", then submit; locked after
    scores = {"evaluator": {a_id: (4, 5), b_id: (3, 3)}, "evaluator2": {a_id: (5, 4), b_id: (3, 4)}}
    for key, per_app in scores.items():
        login(client, f"{key}@test.example")
        for app_id, (need, impact) in per_app.items():
            asg_id = ids[(world.users[key], app_id)]
            post(client, f"/program/assignments/{asg_id}/declare", {"conflict": "no"})
            page = client.get(f"/program/assignments/{asg_id}")
            assert "지원자 " in page.text
            for secret in ("알파정밀", "베타화학", "610-81-23454", "052-123-4567", "2026-SOL-01-000"):
                assert secret not in page.text
            r = post(
                client,
                f"/program/assignments/{asg_id}/score",
                {"score_need": str(need), "comment_need": "현장 문제가 구체적임", "action": "save"},
            )
            assert r.status_code == 303
            r = post(
                client,
                f"/program/assignments/{asg_id}/score",
                {"score_impact": str(impact), "action": "submit"},
            )
            assert r.status_code == 400 and "평가 의견 필요" in r.text  # the comment is required
            r = post(
                client,
                f"/program/assignments/{asg_id}/score",
                {"score_impact": str(impact), "comment_impact": "정량 목표가 분명함", "action": "submit"},
            )
            assert r.status_code == 303, r.text
            again = post(
                client,
                f"/program/assignments/{asg_id}/score",
                {"score_need": "0", "comment_need": "바꿔봄", "action": "save"},
            )
            assert again.status_code == 400  # locked
    # an evaluator does not reach another evaluator's assignment, nor the application itself
    assert client.get(f"/program/assignments/{asg_a3}").status_code == 404
    assert client.get(f"/program/applications/{a_id}").status_code == 403  # the role may not

    # operator: ranking blind, then confirm; names revealed after
    login(client, "operator@test.example")
    page = client.get(f"/program/calls/{call_id}/ranking")
    assert page.status_code == 200 and "알파정밀" not in page.text and "베타화학" not in page.text
    csv_text = client.get(f"/program/calls/{call_id}/ranking.csv").content.decode("utf-8-sig")
    assert "지원자 " in csv_text and "알파정밀" not in csv_text
    assert "90.00" in page.text and "60.00" in page.text  # A: mean of 90 and 90; B: mean of 60 and 70 = 65
    r = post(client, f"/program/calls/{call_id}/select")
    assert r.status_code == 303, r.text
    page = client.get(f"/program/calls/{call_id}/ranking")
    assert "알파정밀" in page.text
    with system_session(engine) as s:
        apps = {a.id: a for a in s.scalars(select(Application))}
        assert (apps[a_id].decision, apps[a_id].rank) == ("selected", 1)
        assert (apps[b_id].decision, apps[b_id].reserve_position) == ("reserve", 1)
        support = list(s.scalars(select(Support)))
        assert [x.application_id for x in support] == [a_id]
        subjects = [m.subject for m in s.scalars(select(OutboxMessage))]
        assert sum("선정 결과" in x for x in subjects) == 2 and any("접수" in x for x in subjects)
        assert s.get(ProgramCall, call_id).decided_at is not None  # type: ignore[union-attr]

    # the decision letter (Korean PDF) for the applicant
    login(client, "member@alpha.example")
    pdf = client.get(f"/program/applications/{a_id}/letter.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "선정" in text and "2026-SOL-01-0001" in text
