"""Store-and-forward: a bounded on-disk buffer for readings the store could not take.

Each appended batch is one row of a SQLite file (WAL, synchronous=FULL so an acknowledged
append survives a power cut). The buffer refuses appends past ``max_bytes`` with
:class:`~aion.line.errors.BufferFull`, which the pipeline turns into backpressure. Replay takes
the oldest chunks first; a chunk is deleted only after the store accepted it, so a crash
during replay replays it again and the idempotent store keeps one copy.

>>> import tempfile, os
>>> from aion.line.model import Reading, Scored
>>> b = DiskBuffer(os.path.join(tempfile.mkdtemp(), "buf.sqlite"), max_bytes=1_000_000)
>>> b.append([Scored(Reading("m.a", 1.0, 2.0, 1), 0.5)])
>>> [(i, [s.reading.value for s in rows]) for i, rows in b.peek(10)], b.rows
([(1, [2.0])], 1)
>>> b.remove([1]); b.rows
0
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from aion.line.errors import BufferFull, StoreUnavailable
from aion.line.model import Reading, Scored


def _pack(scored: Sequence[Scored]) -> bytes:
    return json.dumps([[r.tag, r.ts, r.value, r.seq, r.source, r.ref, s] for r, s in scored]).encode()


def _unpack(blob: bytes) -> list[Scored]:
    return [Scored(Reading(t, ts, v, q, src, ref), s) for t, ts, v, q, src, ref, s in json.loads(blob)]


class DiskBuffer:
    def __init__(self, path: str | Path, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, data BLOB)"
        )
        self.bytes_, self.rows_ = self._db.execute(
            "SELECT COALESCE(SUM(LENGTH(data)), 0), COALESCE(SUM(n), 0) FROM chunks"
        ).fetchone()

    @property
    def rows(self) -> int:
        """Readings waiting in the buffer."""
        return int(self.rows_)

    @property
    def nbytes(self) -> int:
        return int(self.bytes_)

    def append(self, scored: Sequence[Scored]) -> None:
        """Durably add a batch, or raise BufferFull."""
        if not scored:
            return
        blob = _pack(scored)
        with self._lock:
            if self.bytes_ + len(blob) > self.max_bytes:
                raise BufferFull(
                    f"저장 대기 버퍼가 가득 참 ({self.bytes_} B) / Store-and-forward buffer full "
                    f"({self.bytes_} of {self.max_bytes} bytes)"
                )
            try:
                self._db.execute("INSERT INTO chunks(n, data) VALUES (?, ?)", (len(scored), blob))
            except sqlite3.Error as e:
                raise StoreUnavailable(f"버퍼 쓰기 실패 / Buffer write failed ({self.path}): {e}") from e
            self.bytes_ += len(blob)
            self.rows_ += len(scored)

    def peek(self, max_chunks: int = 8) -> list[tuple[int, list[Scored]]]:
        """The oldest chunks, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, data FROM chunks ORDER BY id LIMIT ?", (max_chunks,)
            ).fetchall()
        return [(i, _unpack(d)) for i, d in rows]

    def remove(self, ids: Sequence[int]) -> None:
        """Forget chunks the store accepted."""
        if not ids:
            return
        with self._lock:
            marks = ",".join("?" * len(ids))
            nb, nr = self._db.execute(
                f"SELECT COALESCE(SUM(LENGTH(data)), 0), COALESCE(SUM(n), 0) FROM chunks WHERE id IN ({marks})",  # noqa: E501
                tuple(ids),
            ).fetchone()
            self._db.execute(f"DELETE FROM chunks WHERE id IN ({marks})", tuple(ids))
            self.bytes_ -= nb
            self.rows_ -= nr

    def close(self) -> None:
        with self._lock:
            self._db.close()
