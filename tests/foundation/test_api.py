"""JSON API: login, me, companies, API tokens, OpenAPI docs served locally, health."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.accounts import service
from aion.accounts.models import User
from aion.core.db import system_session

from .conftest import login
from .factories import PASSWORD, World


def test_api_login_sets_session_cookie(client: TestClient, world: World) -> None:
    r = client.post("/api/auth/login", json={"email": world.emails["b_member"], "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["company_id"] == world.company_b
    assert "password_hash" not in r.text
    assert client.get("/api/me").json()["email"] == world.emails["b_member"]


def test_api_login_wrong_password_is_401_in_korean(client: TestClient, world: World) -> None:
    r = client.post("/api/auth/login", json={"email": world.emails["b_member"], "password": "nope"})
    assert r.status_code == 401 and r.json()["detail"] == "이메일 또는 비밀번호가 올바르지 않습니다."
    r = client.post("/api/auth/login", json={"email": "nobody@x.example", "password": "nope"})
    assert r.status_code == 401


def test_bearer_token(app, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with system_session(engine) as s:
        user = s.scalars(select(User).where(User.email == world.emails["a_member"])).one()
        plain, _ = service.create_token(s, user, "script")
    with TestClient(app) as c:
        headers = {"Authorization": f"Bearer {plain}"}
        assert c.get("/api/me", headers=headers).json()["email"] == world.emails["a_member"]
        assert c.get(f"/api/companies/{world.company_b}", headers=headers).status_code == 404
        assert c.get(f"/api/companies/{world.company_a}", headers=headers).status_code == 200
        assert c.get("/api/me", headers={"Authorization": "Bearer aion_forged"}).status_code == 401
    with system_session(engine) as s:
        user = s.scalars(select(User).where(User.email == world.emails["a_member"])).one()
        token = service.list_tokens(s, user)[0]
        assert token.last_used_at is not None and plain not in (token.token_hash, token.prefix)
        service.revoke_token(s, user, token.id)
    with TestClient(app) as c:
        assert c.get("/api/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_token_from_account_page_is_shown_once(client: TestClient, world: World) -> None:
    from .conftest import csrf_of

    login(client, world.emails["a_member"])
    page = client.post("/account/tokens", data={"name": "line-pc", "csrf_token": csrf_of(client)})
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text)
    assert token is not None
    assert token.group(1) not in client.get("/account").text
    fresh = TestClient(client.app)
    assert fresh.get("/api/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 200


def test_create_company_via_api_validates_brn(client: TestClient, world: World) -> None:
    login(client, world.emails["operator"])
    bad = client.post("/api/companies", json={"name": "감마", "brn": "220-81-62518"})
    assert bad.status_code == 422 and "220-81-62518" in bad.text
    ok = client.post("/api/companies", json={"name": "감마", "brn": "2208162517", "size": "medium"})
    assert ok.status_code == 201 and ok.json()["brn"] == "220-81-62517"
    dup = client.post("/api/companies", json={"name": "감마2", "brn": "220-81-62517"})
    assert dup.status_code == 400 and "이미 등록" in dup.json()["detail"]


def test_company_member_cannot_create_companies(client: TestClient, world: World) -> None:
    login(client, world.emails["a_admin"])
    r = client.post("/api/companies", json={"name": "감마", "brn": "2208162517"})
    assert r.status_code == 403


def test_openapi_docs_use_no_cdn(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "/api/docs-static/swagger-ui-bundle.js" in r.text
    assert client.get("/api/docs-static/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert "/api/auth/login" in spec["paths"] and "/api/companies/{company_id}" in spec["paths"]


def test_pages_load_no_external_assets(client: TestClient, world: World) -> None:
    login(client, world.emails["admin"])
    for path in ("/", "/companies", "/users", "/account", "/audit", "/login"):
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http:", "https:", "//")), f"{path} loads {url}"


def test_healthz_checks_database(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_the_favicon_browsers_ask_for_is_the_apps_icon(client: TestClient) -> None:
    r = client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"
    icon = client.get("/favicon.ico")  # no login needed
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
