"""Fixtures for the program pages: the foundation's world (two companies, a user per role) plus
two more evaluators, a running app client, and helpers that act as one user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aion.accounts import service
from aion.accounts.models import Agency, Company, Role
from aion.core.db import system_session
from aion.settings import Settings
from aion.web.app import create_app
from tests.foundation.factories import PASSWORD, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    with system_session(engine, actor="tests") as s:
        for cid, addr in (
            (w.company_a, "울산광역시 북구 효자로 1"),
            (w.company_b, "울산광역시 남구 산업로 2"),
        ):
            company = s.get(Company, cid)
            assert company is not None
            company.address, company.contact_email = addr, f"contact{cid}@company.example"
        s.add(Agency(name="울산테크노파크", short_name="UTP", is_lead=True))
        s.add(Agency(name="울산정보산업진흥원", short_name="UIPA"))
        for key in ("evaluator2", "evaluator3"):
            u = service.create_user(s, f"{key}@test.example", Role.EVALUATOR, PASSWORD, name=key)
            w.users[key] = u.id
            w.emails[key] = u.email
    return w


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="s" * 48)


@pytest.fixture
def client(settings: Settings, engine: Engine, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as c:
        yield c


def login(client: TestClient, email: str) -> None:
    client.cookies.clear()
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.get("/login")  # a CSRF cookie for the forms


def post(client: TestClient, url: str, data: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    body = {"csrf_token": client.cookies.get("aion_csrf", ""), **(data or {})}
    return client.post(url, data=body, follow_redirects=False, **kw)  # type: ignore[arg-type]


ONE_DAY = timedelta(days=1)
