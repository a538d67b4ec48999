"""Time-series stores: embedded SQLite (default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aion.line.errors import LineConfigError
from aion.line.store.base import Latest, Point, TimeSeriesStore

__all__ = ["Latest", "Point", "TimeSeriesStore", "open_store"]


def open_store(options: dict[str, Any], data_dir: Path) -> TimeSeriesStore:
    """The store a ``store:`` section describes (``kind: sqlite`` by default)."""
    kind = options.get("kind", "sqlite")
    if kind == "sqlite":
        from aion.line.store.sqlite import SqliteStore

        return SqliteStore(options.get("path") or data_dir / "timeseries.sqlite")
    if kind == "postgres":
        from aion.line.store.postgres import PostgresStore

        if not options.get("url"):
            raise LineConfigError(
                "store.url 필요 (postgresql://...) / store.url is required for kind: postgres"
            )
        return PostgresStore(options["url"], schema=options.get("schema", "aion_line"))
    raise LineConfigError(f"알 수 없는 저장소: {kind} / Unknown store kind {kind!r}; valid: sqlite, postgres")
