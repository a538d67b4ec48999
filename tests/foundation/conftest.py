from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aion import demo
from aion.core.db import system_session
from aion.settings import Settings
from aion.web.app import create_app

from .factories import PASSWORD, World


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="s" * 48)


@pytest.fixture
def app(settings: Settings, engine: Engine, world: World):  # type: ignore[no-untyped-def]
    return create_app(settings, engine)


@pytest.fixture
def demo_app(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    """The app with the demo data loaded (``aion demo load``), and the demo accounts."""
    with system_session(engine, actor="tests") as s:
        accounts = demo.load(s, settings.data_dir)
    return create_app(settings, engine), accounts


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


def csrf_of(client: TestClient) -> str:
    """The CSRF token the site gave this browser (cookie set on the first page)."""
    if "aion_csrf" not in client.cookies:
        client.get("/login")
    return client.cookies["aion_csrf"]


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
