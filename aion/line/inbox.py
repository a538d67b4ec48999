"""The HTTP ingest inbox: a bounded on-disk queue between the web app and a line's pipeline.

The web app validates a gateway's post, stamps it (a reading without ``ts`` gets the time of
arrival, once) and appends the readings here; the gateway's 202 means they are durable. The
pipeline's ``http`` connector reads them in order and deletes them only after they are stored,
so a crash in between replays them and the idempotent store keeps one copy. Refused parts
travel the same way to be quarantined by the pipeline.

>>> import tempfile, os
>>> from aion.line.model import Reading, Reject
>>> box = Inbox(os.path.join(tempfile.mkdtemp(), "inbox.sqlite"))
>>> box.put([Reading("m.a", 1.0, 2.0, 3, "http")], [Reject("http", "nan", "m.b", "{}", 1.0)])
1
>>> [(i, [r.value for r in rs], [j.reason for j in js]) for i, rs, js in box.read(0)]
[(1, [2.0], ['nan'])]
>>> box.delete_upto(1); box.read(0)
[]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from aion.line.errors import Backpressure
from aion.line.model import Reading, Reject


class Inbox:
    def __init__(self, path: str | Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB)")

    def put(self, readings: Sequence[Reading], rejects: Sequence[Reject] = ()) -> int:
        """Durably append one post; raises Backpressure when the inbox is full."""
        blob = json.dumps([[list(r) for r in readings], [list(j) for j in rejects]]).encode()
        with self._lock:
            used = self._db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM posts").fetchone()[0]
            if used + len(blob) > self.max_bytes:
                raise Backpressure(
                    "수집 대기함이 가득 참, 잠시 후 다시 보내세요 / The ingest inbox is full; retry later"
                )
            return int(self._db.execute("INSERT INTO posts(data) VALUES (?)", (blob,)).lastrowid or 0)

    def read(self, after: int, limit: int = 256) -> list[tuple[int, list[Reading], list[Reject]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, data FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        out = []
        for i, data in rows:
            readings, rejects = json.loads(data)
            out.append((int(i), [Reading(*r) for r in readings], [Reject(*j) for j in rejects]))
        return out

    def delete_upto(self, last_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM posts WHERE id <= ?", (last_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
