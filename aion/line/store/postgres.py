"""PostgreSQL store for a computing center: same tables and semantics as the SQLite store.

Writes go through ``COPY`` into a temporary table and one ``INSERT ... ON CONFLICT DO NOTHING``,
so a batch is idempotent and fast. A lost connection raises StoreUnavailable and is reopened on
the next call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from aion.line.errors import LineConfigError, StoreUnavailable
from aion.line.model import Alarm, Attached, AuditRecord, Reject, Scored
from aion.line.store.base import Latest, Point, TimeSeriesStore
from aion.line.store.sqlite import ALARM_COLS, ALARM_UPSERT, alarm_row, attached_query

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.tags (id SERIAL PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.readings (
    tag_id INTEGER NOT NULL, ts_us BIGINT NOT NULL, seq BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL, score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tag_id, ts_us, seq));
CREATE TABLE IF NOT EXISTS {s}.refs (
    tag_id INTEGER NOT NULL, ts_us BIGINT NOT NULL, seq BIGINT NOT NULL, ref TEXT NOT NULL,
    PRIMARY KEY (tag_id, ts_us, seq));
CREATE TABLE IF NOT EXISTS {s}.quarantine (
    id BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION, source TEXT, reason TEXT, detail TEXT, payload TEXT);
CREATE TABLE IF NOT EXISTS {s}.alarms (
    id TEXT PRIMARY KEY, line TEXT, tag TEXT, rule TEXT, severity TEXT, message TEXT,
    value DOUBLE PRECISION, raised_at DOUBLE PRECISION, count INTEGER, acked_at DOUBLE PRECISION,
    acked_by TEXT, cleared_at DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS {s}.audit (
    id BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION, line TEXT, action TEXT, target TEXT, value TEXT,
    outcome TEXT, detail TEXT, alarm_id TEXT);
"""


class PostgresStore(TimeSeriesStore):
    def __init__(self, url: str, schema: str = "aion_line", connect_timeout: int = 3) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise LineConfigError(
                f"잘못된 스키마 이름: {schema!r} / Invalid schema name {schema!r}; use [a-z0-9_]"
            )
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: Any = None
        self.tag_ids_: dict[str, int] = {}
        with self._lock:
            self._connect()

    def _connect(self) -> Any:
        import psycopg

        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = None
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
            conn.execute(SCHEMA.format(s=self.schema))
            self.tag_ids_ = dict((n, i) for i, n in conn.execute(f"SELECT id, name FROM {self.schema}.tags"))
        except psycopg.Error as e:
            if conn is not None:  # connected, then the setup failed: close it, do not leak it
                conn.close()
            self._conn = None
            raise StoreUnavailable(f"PostgreSQL 연결 실패 / Cannot connect to PostgreSQL: {e}") from e
        self._conn = conn
        return conn

    def _run(self, fn: Any) -> Any:
        import psycopg

        with self._lock:
            try:
                return fn(self._connect())
            except psycopg.Error as e:
                if self._conn is not None and self._conn.closed:
                    self._conn = None
                raise StoreUnavailable(f"PostgreSQL 오류 / PostgreSQL error: {e}") from e

    def write(self, scored: Sequence[Scored]) -> int:
        if not scored:
            return 0
        s = self.schema

        def go(conn: Any) -> int:
            with conn.transaction():
                for name in {r.tag for r, _ in scored} - set(self.tag_ids_):
                    row = conn.execute(
                        f"INSERT INTO {s}.tags(name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "  # noqa: E501
                        "RETURNING id",
                        (name,),
                    ).fetchone()
                    self.tag_ids_[name] = row[0]
                conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS _in (LIKE " + s + ".readings) ON COMMIT DELETE ROWS"
                )
                with conn.cursor().copy("COPY _in FROM STDIN") as cp:
                    for r, sc in scored:
                        cp.write_row((self.tag_ids_[r.tag], round(r.ts * 1e6), r.seq, r.value, sc))
                cur = conn.execute(f"INSERT INTO {s}.readings SELECT * FROM _in ON CONFLICT DO NOTHING")
                refs = [(self.tag_ids_[r.tag], round(r.ts * 1e6), r.seq, r.ref) for r, _ in scored if r.ref]
                if refs:
                    conn.cursor().executemany(
                        f"INSERT INTO {s}.refs VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", refs
                    )
                return cur.rowcount

        try:
            return int(self._run(go))
        except StoreUnavailable:
            self.tag_ids_ = {}
            raise

    def write_rejects(self, rejects: Sequence[Reject]) -> None:
        if rejects:
            self._run(
                lambda c: c.cursor().executemany(
                    f"INSERT INTO {self.schema}.quarantine(ts, source, reason, detail, payload) VALUES (%s,%s,%s,%s,%s)",  # noqa: E501
                    [tuple(j[i] for i in (4, 0, 1, 2, 3)) for j in rejects],
                )
            )

    def save_alarm(self, alarm: Alarm) -> None:
        sql = ALARM_UPSERT.format(t=f"{self.schema}.alarms", marks=", ".join(["%s"] * 12))
        self._run(lambda c: c.execute(sql, alarm_row(alarm)))

    def ack_alarm(self, alarm_id: str, user: str, at: float) -> bool:
        sql = (
            f"UPDATE {self.schema}.alarms SET acked_at = %s, acked_by = %s "
            "WHERE id = %s AND acked_at IS NULL RETURNING id"
        )
        return bool(self._run(lambda c: c.execute(sql, (at, user, alarm_id)).fetchall()))

    def alarms(self, line: str = "", active_only: bool = False, limit: int = 1000) -> list[Alarm]:
        conds = [c for c in ("line = %s" if line else "", "cleared_at IS NULL" if active_only else "") if c]
        sql = (
            f"SELECT {ALARM_COLS} FROM {self.schema}.alarms {'WHERE ' + ' AND '.join(conds) if conds else ''} "  # noqa: E501
            "ORDER BY raised_at DESC LIMIT %s"
        )
        return [
            Alarm(*r)
            for r in self._run(lambda c: c.execute(sql, ((line,) if line else ()) + (limit,)).fetchall())
        ]

    def write_audit(self, record: AuditRecord) -> None:
        self._run(
            lambda c: c.execute(
                f"INSERT INTO {self.schema}.audit(ts, line, action, target, value, outcome, detail, alarm_id) "  # noqa: E501
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                tuple(record),
            )
        )

    def audit(self, limit: int = 1000) -> list[AuditRecord]:
        sql = (
            f"SELECT ts, line, action, target, value, outcome, detail, alarm_id FROM {self.schema}.audit "
            "ORDER BY id DESC LIMIT %s"
        )
        return [AuditRecord(*r) for r in self._run(lambda c: c.execute(sql, (limit,)).fetchall())]

    def query(self, tag: str, start: float, end: float, bucket_s: float = 0.0) -> list[Point]:
        s, a, b = self.schema, round(start * 1e6), round(end * 1e6)
        if bucket_s <= 0:
            sql = (
                f"SELECT r.ts_us, r.value FROM {s}.readings r JOIN {s}.tags t ON t.id = r.tag_id "
                "WHERE t.name = %s AND r.ts_us >= %s AND r.ts_us < %s ORDER BY r.ts_us"
            )
            rows = self._run(lambda c: c.execute(sql, (tag, a, b)).fetchall())
            return [Point(t / 1e6, v, v, v, 1) for t, v in rows]
        w = max(1, round(bucket_s * 1e6))
        sql = (
            f"SELECT (r.ts_us / %s) * %s AS bucket, AVG(r.value), MIN(r.value), MAX(r.value), COUNT(*) "
            f"FROM {s}.readings r JOIN {s}.tags t ON t.id = r.tag_id "
            "WHERE t.name = %s AND r.ts_us >= %s AND r.ts_us < %s GROUP BY bucket ORDER BY bucket"
        )
        rows = self._run(lambda c: c.execute(sql, (w, w, tag, a, b)).fetchall())
        return [Point(t / 1e6, float(v), lo, hi, n) for t, v, lo, hi, n in rows]

    def tally(self, tag: str, start: float, end: float, at_least: float) -> tuple[int, int]:
        s = self.schema
        sql = (
            f"SELECT COUNT(*), COUNT(*) FILTER (WHERE r.value >= %s) FROM {s}.readings r "
            f"JOIN {s}.tags t ON t.id = r.tag_id WHERE t.name = %s AND r.ts_us >= %s AND r.ts_us < %s"
        )
        args = (at_least, tag, round(start * 1e6), round(end * 1e6))
        n, hits = self._run(lambda c: c.execute(sql, args).fetchone())
        return int(n), int(hits)

    def attachments(
        self, tag: str, limit: int = 50, before: tuple[int, int] | None = None, min_value: float | None = None
    ) -> list[Attached]:
        sql, args = attached_query(f"{self.schema}.", "%s", tag, limit, before, min_value)
        return [Attached(tag, *row) for row in self._run(lambda c: c.execute(sql, args).fetchall())]

    def attachment(self, tag: str, ts_us: int, seq: int) -> Attached | None:
        sql, args = attached_query(f"{self.schema}.", "%s", tag, 1, at=(ts_us, seq))
        rows = self._run(lambda c: c.execute(sql, args).fetchall())
        return Attached(tag, *rows[0]) if rows else None

    def latest(self) -> dict[str, Latest]:
        s = self.schema
        sql = (
            f"SELECT DISTINCT ON (t.name) t.name, r.ts_us, r.value, r.score FROM {s}.readings r "
            f"JOIN {s}.tags t ON t.id = r.tag_id ORDER BY t.name, r.ts_us DESC"
        )
        return {n: Latest(t / 1e6, v, sc) for n, t, v, sc in self._run(lambda c: c.execute(sql).fetchall())}

    def count(self, tag: str = "") -> int:
        s = self.schema
        if tag:
            sql = f"SELECT COUNT(*) FROM {s}.readings r JOIN {s}.tags t ON t.id = r.tag_id WHERE t.name = %s"
            return int(self._run(lambda c: c.execute(sql, (tag,)).fetchone()[0]))
        return int(self._run(lambda c: c.execute(f"SELECT COUNT(*) FROM {s}.readings").fetchone()[0]))

    def distinct_count(self) -> int:
        sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT tag_id, seq FROM {self.schema}.readings) d"
        return int(self._run(lambda c: c.execute(sql).fetchone()[0]))

    def quarantine_counts(self) -> dict[str, int]:
        sql = f"SELECT reason, COUNT(*) FROM {self.schema}.quarantine GROUP BY reason"
        return dict(self._run(lambda c: c.execute(sql).fetchall()))

    def apply_retention(self, before: float) -> int:
        s, at = self.schema, round(before * 1e6)

        def go(conn: Any) -> int:
            with conn.transaction():
                n = conn.execute(f"DELETE FROM {s}.readings WHERE ts_us < %s", (at,)).rowcount
                conn.execute(f"DELETE FROM {s}.refs WHERE ts_us < %s", (at,))
                return int(n)

        return int(self._run(go))

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1"))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def drop(self) -> None:
        """Remove the schema and everything in it (tests, uninstall)."""
        self._run(lambda c: c.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
