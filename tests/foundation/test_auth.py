"""Login, lock-out, CSRF, logout, password change and language, through the real app."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.accounts.models import User
from aion.core.audit import AuditLog
from aion.core.db import system_session, utcnow

from .conftest import csrf_of, login
from .factories import PASSWORD, World


def _form_login(client: TestClient, email: str, password: str) -> int:
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(client), "next": "/"},
        follow_redirects=False,
    )
    return r.status_code


def _audit(engine: Engine, action: str) -> list[AuditLog]:
    with system_session(engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_login_page_is_korean_by_default(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="ko">' in r.text
    assert "AI-on 로그인" in r.text and "비밀번호" in r.text
    assert 'for="email"' in r.text and 'id="email"' in r.text  # labelled inputs


def test_pages_require_login(client: TestClient) -> None:
    r = client.get("/companies", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/companies")
    assert client.get("/api/me").status_code == 401


def test_form_login_success_sets_http_only_cookie_and_audits(
    client: TestClient, world: World, engine: Engine
) -> None:
    r = client.post(
        "/login",
        data={
            "email": "MEMBER@alpha.example ",
            "password": PASSWORD,
            "csrf_token": csrf_of(client),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "aion_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/api/me").json()
    assert me["email"] == "member@alpha.example"
    assert [a.actor for a in _audit(engine, "login.success")] == ["member@alpha.example"]


def test_wrong_password_then_lockout_after_five(client: TestClient, world: World, engine: Engine) -> None:
    email = world.emails["a_member"]
    codes = [_form_login(client, email, "wrong password!") for _ in range(5)]
    assert codes == [401, 401, 401, 401, 423]
    # Locked: even the right password is refused, and the refusal is audited.
    assert _form_login(client, email, PASSWORD) == 423
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 423 and int(r.headers["retry-after"]) > 0
    failed = _audit(engine, "login.failed")
    assert len(failed) == 5 and failed[-1].after == {"reason": "password", "failed_in_a_row": 5}
    assert len(_audit(engine, "user.locked")) == 1
    assert len(_audit(engine, "login.refused_locked")) == 2


def test_failures_not_in_a_row_do_not_lock(client: TestClient, world: World) -> None:
    email = world.emails["a_member"]
    for _ in range(4):
        assert _form_login(client, email, "nope nope nope") == 401
    assert _form_login(client, email, PASSWORD) == 303  # resets the count
    client.cookies.clear()
    for _ in range(4):
        assert _form_login(client, email, "nope nope nope") == 401


def test_lock_expires_with_time(client: TestClient, world: World, engine: Engine) -> None:
    email = world.emails["a_member"]
    for _ in range(5):
        _form_login(client, email, "wrong password!")
    with system_session(engine) as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        assert user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
    assert _form_login(client, email, PASSWORD) == 303


def test_admin_unlocks_from_the_user_page(app, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    email = world.emails["a_member"]
    with TestClient(app) as victim:
        for _ in range(5):
            _form_login(victim, email, "wrong password!")
        assert _form_login(victim, email, PASSWORD) == 423
    with TestClient(app) as admin:
        login(admin, world.emails["admin"])
        page = admin.get(f"/users/{world.users['a_member']}")
        assert "계정 잠금 해제" in page.text
        r = admin.post(
            f"/users/{world.users['a_member']}/unlock",
            data={"csrf_token": csrf_of(admin)},
            follow_redirects=False,
        )
        assert r.status_code == 303
    with TestClient(app) as victim:
        assert _form_login(victim, email, PASSWORD) == 303
    unlocks = _audit(engine, "user.unlock")
    assert len(unlocks) == 1 and unlocks[0].actor == world.emails["admin"]


def test_company_admin_cannot_unlock_other_company(app, world: World) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        login(c, world.emails["a_admin"])
        r = c.post(f"/users/{world.users['b_member']}/unlock", data={"csrf_token": csrf_of(c)})
        assert r.status_code == 404


def test_form_post_without_or_with_wrong_csrf_is_rejected(client: TestClient, world: World) -> None:
    login(client, world.emails["operator"])
    data = {"name": "감마", "brn": "220-81-62517", "size": "small"}
    r = client.post("/companies/new", data=data, follow_redirects=False)
    assert r.status_code == 403 and "양식이 만료" in r.text
    r = client.post("/companies/new", data={**data, "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/api/companies").json().__len__() == 2  # nothing was created
    r = client.post("/companies/new", data={**data, "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert len(client.get("/api/companies").json()) == 3


def test_logout_post_needs_csrf_and_ends_session(client: TestClient, world: World) -> None:
    login(client, world.emails["a_member"])
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_password_change_ends_other_sessions(app, world: World) -> None:  # type: ignore[no-untyped-def]
    email = world.emails["a_member"]
    with TestClient(app) as other, TestClient(app) as me:
        login(other, email)
        login(me, email)
        new = "a brand new passphrase"
        r = me.post(
            "/account/password",
            data={"current": PASSWORD, "new": new, "confirm": new, "csrf_token": csrf_of(me)},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert me.get("/api/me").status_code == 200  # this session continues
        assert other.get("/api/me").status_code == 401  # the other one ended
    with TestClient(app) as fresh:
        assert fresh.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
        assert fresh.post("/api/auth/login", json={"email": email, "password": new}).status_code == 200


def test_password_change_with_wrong_current_password(client: TestClient, world: World) -> None:
    login(client, world.emails["a_member"])
    r = client.post(
        "/account/password",
        data={
            "current": "not my password",
            "new": "x" * 12,
            "confirm": "x" * 12,
            "csrf_token": csrf_of(client),
        },
    )
    assert r.status_code == 400 and "현재 비밀번호가 올바르지 않습니다" in r.text


def test_language_switch_to_english(client: TestClient, world: World) -> None:
    login(client, world.emails["a_member"])
    assert "대시보드" in client.get("/").text
    r = client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": csrf_of(client)})
    assert r.status_code == 200
    assert '<html lang="en">' in r.text and "Dashboard" in r.text and "대시보드" not in r.text
    assert client.get("/api/me").json()["language"] == "en"  # remembered for the next login


def test_open_redirect_is_refused(client: TestClient, world: World) -> None:
    r = client.post(
        "/login",
        data={
            "email": world.emails["a_member"],
            "password": PASSWORD,
            "csrf_token": csrf_of(client),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
