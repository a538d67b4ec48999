"""The time-series store contract, on the embedded SQLite store and on PostgreSQL (when configured):
idempotent writes, downsampled reads, latest values, retention, quarantine, alarms and audit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion.line.model import Alarm, AuditRecord, Reading, Reject, Scored
from aion.line.store.base import TimeSeriesStore
from aion.line.store.sqlite import SqliteStore

PG = os.environ.get("AION_TEST_POSTGRES_URL", "").replace("+psycopg", "")


@pytest.fixture(params=["sqlite"] + (["postgres"] if PG else []))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    if request.param == "sqlite":
        s: TimeSeriesStore = SqliteStore(tmp_path / "ts.sqlite")
        yield s
        s.close()
    else:
        from aion.line.store.postgres import PostgresStore

        pg = PostgresStore(PG, schema=f"line_test_{uuid.uuid4().hex[:8]}")
        yield pg
        pg.drop()
        pg.close()


def series(tag: str, values: list[float], t0: float = 1000.0) -> list[Scored]:
    return [Scored(Reading(tag, t0 + i, v, i), v / 10) for i, v in enumerate(values)]


def test_writes_are_idempotent_and_reads_downsample(store: TimeSeriesStore) -> None:
    a = series("m.a", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert store.write(a[:4]) == 4
    assert store.write(a) == 2  # the first four again: stored once
    assert store.write(a[2:3] + series("m.b", [9.0])) == 1
    assert store.count() == 7 and store.count("m.a") == 6 and store.distinct_count() == 7
    raw = store.query("m.a", 1000.0, 1006.0)
    assert [p.value for p in raw] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    buckets = store.query("m.a", 1000.0, 1006.0, bucket_s=2.0)
    assert [(p.ts, p.value, p.min, p.max, p.n) for p in buckets] == [
        (1000.0, 1.5, 1.0, 2.0, 2), (1002.0, 3.5, 3.0, 4.0, 2), (1004.0, 5.5, 5.0, 6.0, 2),
    ]  # fmt: skip
    latest = store.latest()
    assert (
        latest["m.a"].value == 6.0
        and latest["m.a"].score == pytest.approx(0.6)
        and latest["m.b"].ts == 1000.0
    )
    assert store.query("m.zz", 0, 2000) == []
    assert store.apply_retention(1003.0) == 4  # m.a 1000..1002 and m.b 1000
    assert store.count() == 3 and store.latest()["m.a"].value == 6.0
    # the same reading (tag, sequence number) delivered again under another timestamp
    assert store.write([Scored(Reading("m.a", 1500.0, 6.0, 5), 0.6)]) == 1
    assert store.count() == 4 and store.distinct_count() == 3


def test_attachments_are_kept_with_their_readings_and_paged_newest_first(store: TimeSeriesStore) -> None:
    """A camera's readings carry their photo's path: the station's photos can be listed (all, or
    the NG ones), paged, looked up one by one, and leave with their readings at retention."""
    photos = [
        Scored(Reading("st.image", 1000.0 + i, v, i, "cam", f"/cam/p{i}.png"), 0.0)
        for i, v in enumerate([0.1, 0.7, 0.2, 0.9, 0.3])
    ]
    plain = series("st.temp", [1.0, 2.0])
    assert store.write(photos[:3] + plain) == 5
    assert store.write(photos) == 2  # again: stored once, with one path each
    page = store.attachments("st.image", limit=2)
    assert [(a.ref, a.value, a.ts) for a in page] == [
        ("/cam/p4.png", 0.3, 1004.0),
        ("/cam/p3.png", 0.9, 1003.0),
    ]
    rest = store.attachments("st.image", limit=10, before=(page[-1].ts_us, page[-1].seq))
    assert [a.ref for a in rest] == ["/cam/p2.png", "/cam/p1.png", "/cam/p0.png"]
    assert [a.ref for a in store.attachments("st.image", min_value=0.5)] == ["/cam/p3.png", "/cam/p1.png"]
    assert store.attachments("st.temp") == [] and store.attachments("nope") == []
    # the day's tally: photos in a window and those at or above the NG limit, counted by the store
    assert store.tally("st.image", 1000.0, 1005.0, 0.5) == (5, 2)
    assert store.tally("st.image", 1001.0, 1003.0, 0.7) == (2, 1)  # [start, end), limit inclusive
    assert store.tally("st.image", 1000.0, 1005.0, 1.0) == (5, 0)
    assert store.tally("nope", 0, 9e9, 0.5) == (0, 0)
    one = store.attachment("st.image", photos[1].reading.ts_us, 1)
    assert one is not None and (one.tag, one.ref, one.value) == ("st.image", "/cam/p1.png", 0.7)
    assert store.attachment("st.image", photos[1].reading.ts_us, 2) is None
    assert store.apply_retention(1002.0) == 4  # two photos and the two plain readings
    assert [a.ref for a in store.attachments("st.image")] == ["/cam/p4.png", "/cam/p3.png", "/cam/p2.png"]
    assert store.attachment("st.image", photos[1].reading.ts_us, 1) is None


def test_quarantine_alarms_and_audit(store: TimeSeriesStore) -> None:
    store.write_rejects([Reject("mq", "bad_json", "Expecting value", "{oops", 1.0)] * 2)
    store.write_rejects([Reject("mq", "nan", "m.a: nan", '{"a": NaN}', 2.0)])
    assert store.quarantine_counts() == {"bad_json": 2, "nan": 1}
    alarm = Alarm("l:low:m.a:1", "l", "m.a", "low", "critical", "m.a 0.1 < 0.2", 0.1, 10.0)
    store.save_alarm(alarm)
    store.save_alarm(Alarm("other:high:m.b:1", "other", "m.b", "high", "warning", "x", 1, 5.0))
    assert store.ack_alarm(alarm.id, "kim", 11.0) and not store.ack_alarm(alarm.id, "lee", 12.0)
    alarm.count, alarm.cleared_at = 4, 13.0  # the pipeline saves later, unaware of the acknowledgement
    store.save_alarm(alarm)
    [saved] = store.alarms("l")
    assert (saved.count, saved.acked_by, saved.acked_at, saved.state) == (4, "kim", 11.0, "cleared")
    assert [a.id for a in store.alarms("", active_only=True)] == ["other:high:m.b:1"]
    store.write_audit(
        AuditRecord(20.0, "l", "stop", "mqtt_publish", "", "blocked", "interlock off", alarm.id)
    )
    [rec] = store.audit()
    assert rec.outcome == "blocked" and rec.alarm_id == alarm.id
    store.ping()


OPEN_AND_WRITE = """
import sys, time
from aion.line.model import Reading, Scored
from aion.line.store.sqlite import SqliteStore
path, i, at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, at - time.time()))
store = SqliteStore(path)
store.write([Scored(Reading(f"m.t{i}", 1.0, 1.0, 0), 0.0)])
store.close()
"""


def test_sqlite_stores_opened_at_once_on_a_new_file_all_open(tmp_path: Path) -> None:
    """Processes that open a new store together race to switch it to WAL; none may fail."""
    for round_ in range(3):
        path = tmp_path / f"ts-{round_}.sqlite"
        at = time.time() + 1.5  # all start at this instant, after their imports
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AND_WRITE, str(path), str(i), str(at)], stderr=subprocess.PIPE
            )
            for i in range(6)
        ]
        errors = [p.communicate(timeout=60)[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors
        store = SqliteStore(path)
        try:
            assert store.count() == 6
        finally:
            store.close()


def test_a_store_locked_past_its_busy_timeout_at_open_says_so(tmp_path: Path) -> None:
    """Opening retries while another process holds the new file, then fails with the line's own
    error naming the file, not a bare sqlite3 error."""
    import sqlite3

    from aion.line.errors import StoreUnavailable

    path = tmp_path / "held.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="held.sqlite"):
            SqliteStore(path, busy_timeout_ms=300)
        assert time.monotonic() - started >= 0.3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store = SqliteStore(path)  # free again: opens, nothing lost
    try:
        assert store.count() == 0
    finally:
        store.close()
