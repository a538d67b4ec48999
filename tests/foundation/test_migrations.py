"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from aion.core.db import Base
from aion.core.registry import load_all_models


def test_migrations_match_models(engine: Engine) -> None:
    load_all_models()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"render_as_batch": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; run `aion db revision -m ...`: {diff}"


def test_upgrade_created_the_foundation_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"companies", "users", "agencies", "api_tokens", "audit_log", "alembic_version"} <= tables
