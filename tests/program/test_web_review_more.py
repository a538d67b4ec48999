"""Override of an automatic exclusion, moderation of a flagged score, deadline extension and
the closed call, and the outbox page."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.accounts.models import User
from aion.core.db import system_session
from aion.program.models import Assignment, Moderation, ProgramCall
from aion.program.service import review
from aion.program.service.common import KST
from tests.foundation.factories import World

from .conftest import login, post
from .test_web_flow import apply, create_call


def _setup(
    client: TestClient, engine: Engine, world: World
) -> tuple[int, int, int, dict[tuple[int, int], int]]:
    call_id = create_call(client, blind=False, n=1)
    a_id = apply(client, "member@alpha.example", call_id, "프레스 라인 비전 검사")
    b_id = apply(client, "admin@beta.example", call_id, "용접 검사")
    login(client, "operator@test.example")
    for key, org in (("evaluator", "울산대학교"), ("evaluator2", "부산대학교"), ("evaluator3", "알파정밀")):
        post(
            client,
            f"/program/calls/{call_id}/evaluators",
            {"evaluator_id": str(world.users[key]), "organisation": org},
        )
    with system_session(engine) as s:
        ids = {(a.evaluator_id, a.application_id): a.id for a in s.scalars(select(Assignment))}
    return call_id, a_id, b_id, ids


def _score_all(engine: Engine, call_id: int, marks: dict[int, float]) -> None:
    """Evaluators (by user id) declare and submit the same mark on every criterion they may score."""
    with system_session(engine) as s:
        call = s.get(ProgramCall, call_id)
        assert call is not None
        for a in review.call_assignments(s, call):
            if a.declared_at is None:
                review.declare(s, a, False, "")
            if a.state == "scoring" and a.evaluator_id in marks:
                m = str(marks[a.evaluator_id])
                review.save_scores(
                    s, a, call, {"need": (m, "근거가 충분함"), "impact": (m, "근거가 충분함")}, submit=True
                )


def test_override_lets_an_excluded_evaluator_score(client: TestClient, engine: Engine, world: World) -> None:
    call_id, a_id, _b, ids = _setup(client, engine, world)
    ev3_a = ids[(world.users["evaluator3"], a_id)]
    assert post(client, f"/program/assignments/{ev3_a}/override", {"reason": "짧음"}).status_code == 400
    page = client.get(f"/program/calls/{call_id}/review")
    assert "평가위원 소속 기관이 지원서의 기관과 같습니다" in page.text
    r = post(
        client, f"/program/assignments/{ev3_a}/override", {"reason": "동명이인 기관으로 확인됨 (별도 법인)"}
    )
    assert r.status_code == 303
    login(client, "evaluator3@test.example")
    post(client, f"/program/assignments/{ev3_a}/declare", {"conflict": "no"})
    page = client.get(f"/program/assignments/{ev3_a}")
    assert "평가표" in page.text and "프레스 라인 비전 검사" in page.text  # open call: the evaluator sees it
    # a declared conflict cannot be overridden
    ev3_b = ids[(world.users["evaluator3"], _b)]
    post(client, f"/program/assignments/{ev3_b}/declare", {"conflict": "yes", "reason": "자문 계약 진행 중"})
    login(client, "operator@test.example")
    assert (
        post(client, f"/program/assignments/{ev3_b}/override", {"reason": "운영자 판단으로 허용"}).status_code
        == 400
    )


def test_flagged_score_moderation_exclude_and_rescore(
    client: TestClient, engine: Engine, world: World
) -> None:
    call_id, a_id, _b, ids = _setup(client, engine, world)
    ev1, ev2, ev3 = (world.users[k] for k in ("evaluator", "evaluator2", "evaluator3"))
    with system_session(engine) as s:  # lift evaluator 3's automatic exclusion so the panel has three
        op = s.get(User, world.users["operator"])
        a = s.get(Assignment, ids[(ev3, a_id)])
        assert op is not None and a is not None
        review.override(s, a, "별도 법인으로 확인됨", op)
    _score_all(engine, call_id, {ev1: 4, ev2: 4, ev3: 1})  # evaluator 3 far below the panel
    page = client.get(f"/program/calls/{call_id}/ranking")
    assert "⚑" in page.text
    before = page.text
    assert "60.00" in before  # A: (80 + 80 + 20) / 3
    r = post(
        client, f"/program/assignments/{ids[(ev3, a_id)]}/moderate", {"action": "exclude", "reason": "짧"}
    )
    assert r.status_code == 400
    r = post(
        client,
        f"/program/assignments/{ids[(ev3, a_id)]}/moderate",
        {"action": "exclude", "reason": "평가 기준을 잘못 적용함"},
    )
    assert r.status_code == 303
    assert "80.00" in client.get(f"/program/calls/{call_id}/ranking").text  # evaluator 3 left out
    r = post(
        client,
        f"/program/assignments/{ids[(ev3, a_id)]}/moderate",
        {"action": "rescore", "reason": "근거 보완 후 재평가"},
    )
    assert r.status_code == 303
    with system_session(engine) as s:
        a = s.get(Assignment, ids[(ev3, a_id)])
        assert a is not None and a.submitted_at is None and a.state == "scoring"  # unlocked for rescoring
        assert [m.action for m in s.scalars(select(Moderation).order_by(Moderation.id))] == [
            "exclude",
            "rescore",
        ]


def test_extension_and_closed_call(client: TestClient, engine: Engine, world: World) -> None:
    call_id = create_call(client, blind=False)
    new_close = (datetime.now(KST) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    assert (
        post(client, f"/program/calls/{call_id}/extend", {"new_close": new_close, "reason": ""}).status_code
        == 400
    )
    r = post(client, f"/program/calls/{call_id}/extend", {"new_close": new_close, "reason": "신청 기업 요청"})
    assert r.status_code == 303
    page = client.get(f"/program/calls/{call_id}")
    assert "신청 기업 요청" in page.text and new_close.replace("T", " ") in page.text
    # a call that closed an hour ago: no application, no extension without reopening
    with system_session(engine) as s:
        call = s.get(ProgramCall, call_id)
        assert call is not None
        call.opens_at = datetime.now(KST) - timedelta(days=5)
        call.closes_at = datetime.now(KST) - timedelta(hours=1)
        call.extensions = []
    login(client, "member@alpha.example")
    r = post(client, f"/program/calls/{call_id}/apply")
    assert r.status_code == 400 and "접수 기간이 아닙니다" in r.text
    login(client, "operator@test.example")
    r = post(client, f"/program/calls/{call_id}/extend", {"new_close": new_close, "reason": "시스템 장애"})
    assert r.status_code == 400 and "마감" in r.text
    outbox = client.get("/program/outbox")
    assert outbox.status_code == 200 and "SMTP" in outbox.text


def test_withdrawal_moves_the_first_reserve_up(client: TestClient, engine: Engine, world: World) -> None:
    from aion.program.models import Application, OutboxMessage, Support

    call_id, a_id, b_id, _ids = _setup(client, engine, world)
    ev1, ev2 = world.users["evaluator"], world.users["evaluator2"]
    _score_all(engine, call_id, {ev1: 4, ev2: 5})  # the same marks on A and B: A was submitted first
    assert post(client, f"/program/calls/{call_id}/select").status_code == 303
    with system_session(engine) as s:
        apps = {a.id: a for a in s.scalars(select(Application))}
        assert (apps[a_id].decision, apps[b_id].decision, apps[b_id].reserve_position) == (
            "selected",
            "reserve",
            1,
        )
    login(client, "member@alpha.example")  # the company may not record it itself
    assert (
        post(client, f"/program/applications/{a_id}/withdraw", {"reason": "내부 사정으로 포기"}).status_code
        == 403
    )
    login(client, "operator@test.example")
    assert post(client, f"/program/applications/{a_id}/withdraw", {"reason": "짧음"}).status_code == 400
    r = post(client, f"/program/applications/{a_id}/withdraw", {"reason": "내부 사정으로 포기"})
    assert r.status_code == 303
    page = client.get(f"/program/calls/{call_id}/ranking")
    assert "선정 포기 (예비 순위 승계)" in page.text
    with system_session(engine) as s:
        apps = {a.id: a for a in s.scalars(select(Application))}
        assert (apps[a_id].decision, apps[b_id].decision, apps[b_id].reserve_position) == (
            "withdrawn",
            "selected",
            None,
        )
        assert [x.application_id for x in s.scalars(select(Support))] == [b_id]
        assert (
            sum("선정 결과" in m.subject for m in s.scalars(select(OutboxMessage))) == 3
        )  # two, then B again
    assert (
        post(client, f"/program/applications/{a_id}/withdraw", {"reason": "다시 한 번 포기"}).status_code
        == 400
    )
    assert client.get(f"/program/applications/{a_id}/letter.pdf").status_code == 404
    assert client.get(f"/program/applications/{b_id}/letter.pdf").status_code == 200
