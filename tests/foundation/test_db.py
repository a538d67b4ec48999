"""The process-wide engine cache: engines pushed out of it close their connections."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_least_recently_used_engine_is_disposed_with_its_connections(tmp_path: Path) -> None:
    import sqlite3

    from aion.core import db

    first = db.get_engine(f"sqlite:///{tmp_path / 'first.db'}")
    with first.connect() as conn:
        raw = conn.connection.dbapi_connection  # pooled, left open when the block ends
    assert raw is not None
    raw.execute("SELECT 1")
    assert db.get_engine(f"sqlite:///{tmp_path / 'first.db'}") is first
    for i in range(db.MAX_ENGINES):  # more URLs than the cache keeps: ``first`` is the oldest
        db.get_engine(f"sqlite:///{tmp_path / f'other{i}.db'}")
    with pytest.raises(sqlite3.ProgrammingError):  # closed on disposal, not left to the collector
        raw.execute("SELECT 1")
    assert db.get_engine(f"sqlite:///{tmp_path / 'first.db'}") is not first
