"""Every change of data is audited with who, what, when, before and after."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.accounts import service
from aion.accounts.models import Company, User
from aion.core.audit import AuditLog
from aion.core.db import session_factory, system_session
from aion.core.tenancy import Scope

from .conftest import csrf_of, login
from .factories import World


def _rows(engine: Engine, **where: object) -> list[AuditLog]:
    with system_session(engine) as s:
        stmt = select(AuditLog).order_by(AuditLog.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditLog, key) == value)
        return list(s.scalars(stmt))


def test_create_update_delete_are_recorded(engine: Engine, world: World) -> None:
    s = session_factory(engine)()
    Scope(actor="kim@op", all_companies=True, actor_id=42).bind(s)
    company = s.get_one(Company, world.company_a)
    company.industry = "금형"
    s.commit()
    row = _rows(engine, action="update", entity="Company")[-1]
    assert row.actor == "kim@op" and row.actor_id == 42 and row.company_id == world.company_a
    assert (
        row.before == {"industry": "자동차 부품"}
        and row.after is not None
        and row.after["industry"] == "금형"
    )
    user = s.get_one(User, world.users["a_member"])
    s.delete(user)
    s.commit()
    s.close()
    deleted = _rows(engine, action="delete", entity="User")
    assert len(deleted) == 1 and (deleted[0].before or {})["email"] == "member@alpha.example"


def test_password_hashes_never_reach_the_log(engine: Engine, world: World) -> None:
    with system_session(engine) as s:
        user = s.get_one(User, world.users["a_member"])
        service.set_password(s, user, "another good passphrase")
    row = _rows(engine, action="update", entity="User")[-1]
    assert row.after is not None and row.before is not None
    assert row.after["password_hash"] == "***" and row.before["password_hash"] == "***"
    for r in _rows(engine):
        assert "argon2" not in str(r.before) + str(r.after)


def test_web_edit_is_audited_with_the_user(client: TestClient, world: World, engine: Engine) -> None:
    login(client, world.emails["a_admin"])
    r = client.post(
        f"/companies/{world.company_a}/edit",
        data={
            "name": "알파정밀(주)",
            "industry": "자동차 부품",
            "size": "medium",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = _rows(engine, action="update", entity="Company")[-1]
    assert row.actor == "admin@alpha.example"
    assert row.before is not None and row.after is not None
    assert row.before["name"] == "알파정밀" and row.after["name"] == "알파정밀(주)"
    # the administrator reads the change in Korean (not as \uXXXX escapes)
    login(client, world.emails["admin"])
    page = client.get("/audit?action=update").text
    assert "name: 알파정밀 · size: small" in page and "name: 알파정밀(주) · size: medium" in page
    assert "\\uc54c" not in page
    assert '<td title="update">수정</td>' in page  # the action in words, its code on hover


def test_audit_page_is_admin_only(app, world: World) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        login(c, world.emails["a_admin"])
        assert c.get("/audit").status_code == 403
        assert c.get("/api/audit").status_code == 403
    with TestClient(app) as c:
        login(c, world.emails["admin"])
        page = c.get("/audit?action=login")
        assert page.status_code == 200 and "login.success" in page.text
        assert any(r["action"] == "create" for r in c.get("/api/audit").json())
