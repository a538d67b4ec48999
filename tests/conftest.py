"""Shared fixtures: a real database (SQLite, and PostgreSQL when AION_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from aion.core import migrate
from aion.core.db import Base, make_engine
from aion.core.registry import load_all_models
from aion.core.security import configure_hasher
from tests.raygroup import on_ray

# Cheap argon2 parameters for the test suite only: hashes stay real argon2id, verified the
# same way, but each costs about a millisecond instead of ~50 ms on a loaded 2-core machine.
configure_hasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = os.environ.get("AION_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's chromium; runs on one database (PostgreSQL when set)"
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests prove pages, not SQL: they run once, on the last backend (PostgreSQL when
    AION_TEST_POSTGRES_URL is set, else SQLite); every service and API test runs on both. The
    Ray tests run one after another, where the first of them stood (one local Ray cluster, started
    for the first and stopped after the last: ``tests/platform/conftest.py``)."""
    keep, drop = [], []
    for item in items:
        param = getattr(getattr(item, "callspec", None), "params", {}).get("db_url")
        on_other_backend = param is not None and param != BACKENDS[-1]
        if item.get_closest_marker("browser") and on_other_backend:
            drop.append(item)
        else:
            keep.append(item)
    ray_tests = [i for i in keep if on_ray(i)]
    for item in ray_tests:  # under pytest-xdist they share one worker
        item.add_marker(pytest.mark.xdist_group("ray"))
    if ray_tests:
        first, rest = keep.index(ray_tests[0]), [i for i in keep if not on_ray(i)]
        keep = rest[:first] + ray_tests + rest[first:]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under ``--dist loadgroup`` a grouped test's node id carries its group (``...[ray]@ray``);
    without it pytest-xdist spreads the group over the workers, each with its own Ray cluster."""
    lost = [i for i in ids if "ray" in i.rpartition("[")[2].rstrip("]").split("-")]
    if node.config.getvalue("dist") == "loadgroup" and lost:
        raise pytest.UsageError(f"pytest-xdist ignored the xdist_group marks (pytest too new?): {lost[:2]}")


def pytest_report_header(config: pytest.Config) -> str:
    shown = make_url(PG_URL).render_as_string(hide_password=True) if PG_URL else "not set"
    return f"aion databases under test: {', '.join(BACKENDS)} (AION_TEST_POSTGRES_URL: {shown})"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (fast and isolated)."""
    path = tmp_path_factory.mktemp("template") / "aion.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


#: The pytest-xdist worker running this process (``gw0``, ``gw1``...; empty when run serially).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _admin(sql: str) -> None:
    """A statement on the test server outside a transaction (CREATE / DROP DATABASE)."""
    from sqlalchemy import create_engine

    eng = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            conn.execute(text(sql))
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    """The migrated test database. Tests empty every table, so parallel workers (``make test``
    runs ``pytest -n 2``) each get a database of their own, ``<name>_<worker>``, dropped after."""
    assert PG_URL
    url, own = PG_URL, ""
    if WORKER:
        own = f"{make_url(PG_URL).database}_{WORKER}"
        _admin(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{own}"')
        url = make_url(PG_URL).set(database=own).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    yield url
    if own:
        _admin(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')


def _truncate_all(engine: Engine) -> None:
    load_all_models()
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "aion.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_migrated")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database, disposed of after the apps that use it have stopped.

    A connection checked out after ``dispose`` (an app's job runtime still ticking) would open a
    new pool that nothing closes: the garbage collector would find its connections open, in
    whatever test ran then.
    """
    from tests.platform.webtools import close_clients

    eng = make_engine(db_url)
    yield eng
    close_clients()
    checked_out = getattr(eng.pool, "checkedout", lambda: 0)
    deadline = time.monotonic() + 10
    while checked_out() and time.monotonic() < deadline:
        time.sleep(0.05)  # a server thread finishing its last request
    eng.dispose()


@pytest.fixture
def world(engine: Engine) -> Any:
    """Two companies with their users, and the agency's staff (``tests/foundation/factories.py``)."""
    from tests.foundation.factories import make_world

    return make_world(engine)


@pytest.fixture
def app(tmp_path: Path, engine: Engine, db_url: str, world: Any) -> Any:
    """The whole app (not served) on the test database, its files in ``tmp_path / "data"``."""
    from aion.settings import Settings
    from aion.web.app import create_app

    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="s" * 48)
    return create_app(settings, engine)


@pytest.fixture
def server(tmp_path: Path, engine: Engine, db_url: str) -> Iterator[tuple[str, Any]]:
    """The whole app on a real server (for browser tests): ``(base URL, the two-company world)``."""
    from aion.settings import Settings
    from aion.web.app import create_app
    from tests.browser import serving
    from tests.foundation.factories import make_world

    world = make_world(engine)
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="k" * 48)
    with serving(create_app(settings, engine)) as base:
        yield base, world


@pytest.fixture(autouse=True)
def _close_web_clients() -> Iterator[None]:
    """Close the clients a test opened with ``client_for`` (their apps' job runtimes stop)."""
    yield
    from tests.platform.webtools import close_clients

    close_clients()
