"""Helpers of the fault tests: a QoS 1 publisher of numbered messages, a pipeline in a thread,
and the exactly-once check on what the store holds."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt

from aion.line.connectors.mqtt import parse_mqtt_url
from aion.line.pipeline import Pipeline

TAGS = ("a", "b")
T0 = 1_800_000_000.0  # message i is stamped T0 + i ms: a resent copy has the same identity


def body(i: int) -> str:
    return json.dumps({"ts": T0 + i / 1000, "seq": i, "values": {t: float(i) for t in TAGS}})


class Publisher:
    """Publishes ``n`` numbered messages at ``rate``/s with QoS 1 and a persistent session.

    paho keeps unacknowledged and not-yet-sent messages and sends them again after a reconnect,
    so a broker restart loses nothing on this side; :meth:`wait_acked` waits for every PUBACK.
    """

    def __init__(self, url: str, topic: str, n: int, rate: float = 1000.0) -> None:
        self.topic, self.n, self.rate = topic, n, rate
        host, port = parse_mqtt_url(url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", clean_session=False
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(host, port, keepalive=5)
        self.client.loop_start()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        start = time.monotonic()
        for i in range(self.n):
            delay = start + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.client.publish(self.topic, body(i), qos=1)
            self.sent = i + 1

    def wait_acked(self, timeout: float = 30.0) -> bool:
        if self._thread.ident is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self.client._out_messages and time.monotonic() < deadline:  # every PUBACK back
            time.sleep(0.02)
        return not self.client._out_messages and self.sent == self.n

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextmanager
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    """The pipeline's loop in a thread for the duration of the block; closed afterwards."""
    stop = threading.Event()
    thread = threading.Thread(target=pipeline.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield pipeline
    finally:
        stop.set()
        thread.join(15)
        pipeline.close()


def stored_counts(path: Path) -> tuple[int, int]:
    """(rows, distinct (tag, seq)) in a SQLite store file, read by a separate connection."""
    db = sqlite3.connect(path, timeout=10)
    try:
        rows = db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        distinct = db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT tag_id, seq FROM readings)").fetchone()[
            0
        ]
    finally:
        db.close()
    return int(rows), int(distinct)


def wait_stored(path: Path, want: int, timeout: float = 30.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    counts = (0, 0)
    while time.monotonic() < deadline:
        try:
            counts = stored_counts(path)
        except sqlite3.Error:
            counts = (0, 0)
        if counts[0] >= want:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # late redeliveries, if any, would show as more rows
    return stored_counts(path)
