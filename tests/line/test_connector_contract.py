"""One contract, every connector, each against a real peer.

The contract: ``next_batch`` returns at once when nothing arrived; what the peer produces
arrives as readings with the configured tag names; ``snapshot`` is JSON; ``close`` is
idempotent; a connector rebuilt from the snapshot taken after ``commit`` goes on with new data
and, where the source keeps history (MQTT persistent session, files, camera folder), does not
deliver committed data again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pandas as pd
import pytest

from aion.line.config import TagConfig
from aion.line.connectors.base import Connector
from aion.line.connectors.camera import CameraFolderConnector
from aion.line.connectors.ingest import IngestConnector
from aion.line.connectors.modbus import ModbusConnector, encode_registers
from aion.line.connectors.mqtt import MqttConnector, parse_mqtt_url
from aion.line.connectors.opcua import OpcUaConnector
from aion.line.connectors.replay import ReplayConnector
from aion.line.model import Reading


@dataclass
class Peer:
    make: Callable[[dict[str, Any] | None], Connector]
    feed: Callable[[list[float]], None]
    tag: str  # the tag whose values are fed
    keeps_history: bool
    cleanup: Callable[[], None] = lambda: None


def collect(
    c: Connector, want: set[float], tag: str, timeout: float = 30.0, got: list[Reading] | None = None
) -> list[Reading]:
    got = list(got or [])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got.extend(c.next_batch(500).readings)
        if want <= {r.value for r in got if r.tag == tag}:
            return got
        time.sleep(0.02)
    raise AssertionError(f"missing {want - {r.value for r in got if r.tag == tag}}; got {got[-5:]}")


def mqtt_peer(url: str) -> Peer:
    topic = f"aiontest/{uuid.uuid4().hex[:8]}"
    host, port = parse_mqtt_url(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(host, port)
    pub.loop_start()

    def make(state: dict[str, Any] | None) -> Connector:
        c = MqttConnector(
            "mq", url, topics=[f"{topic}/{{machine}}/data"], known_tags=["m1.v", "m1.w"], state=state
        )
        assert wait(lambda: c.connected_), c.last_error_
        time.sleep(0.2)  # the SUBACK
        return c

    def feed(values: list[float]) -> None:
        for i, v in enumerate(values):
            body = {"ts": time.time(), "seq": i, "values": {"v": v, "w": -v}}
            pub.publish(f"{topic}/m1/data", json.dumps(body), qos=1).wait_for_publish(5)

    def cleanup() -> None:
        pub.loop_stop()
        pub.disconnect()

    return Peer(make, feed, "m1.v", True, cleanup)


def wait(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.02)
    return pred()


@pytest.fixture(params=["mqtt-mosquitto", "mqtt-embedded", "opcua", "modbus", "replay-csv", "replay-parquet",
                        "camera", "ingest"])  # fmt: skip
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Peer]:
    kind = request.param
    if kind == "mqtt-mosquitto":
        p = mqtt_peer(request.getfixturevalue("system_mosquitto"))
    elif kind == "mqtt-embedded":
        p = mqtt_peer(request.getfixturevalue("embedded_broker").url)
    elif kind == "opcua":
        dev = request.getfixturevalue("opcua_device")
        tags = [TagConfig("pump.flow", address=dev.node_ids["Flow"]),
                TagConfig("pump.temp", address="2:Pump/2:Temp", mode="poll")]  # fmt: skip

        def feed_ua(values: list[float]) -> None:
            for v in values:
                dev.write("Flow", v)
                time.sleep(0.15)  # one notification per value (publishing interval 50 ms)

        p = Peer(lambda st: OpcUaConnector("ua", tags, dev.url, publishing_ms=50, poll_interval=0.2, state=st),
                 feed_ua, "pump.flow", False)  # fmt: skip
    elif kind == "modbus":
        dev = request.getfixturevalue("modbus_device")
        tags = [TagConfig("plc.f", address="hr:0", dtype="float32"),
                TagConfig("plc.i", address="ir:1", dtype="int16", scale=0.5)]  # fmt: skip

        def feed_mb(values: list[float]) -> None:
            for v in values:
                dev.write(0, encode_registers(v, "float32"))
                time.sleep(0.15)  # polled every 50 ms

        p = Peer(lambda st: ModbusConnector("mb", tags, port=dev.port, interval=0.05, state=st),
                 feed_mb, "plc.f", False)  # fmt: skip
    elif kind.startswith("replay"):
        # rows 0-2 due at once, rows 3-5 due 4 s after the first connector starts (40 s of file
        # time at speed 10): the first connector must not have consumed them before its restart
        t = [0.0, 1.0, 2.0, 40.0, 41.0, 42.0]
        df = pd.DataFrame({"ts": t, "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "w": [0.0] * 6})
        path = tmp_path / ("r.csv" if kind == "replay-csv" else "r.parquet")
        if kind == "replay-csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path)
        p = Peer(lambda st: ReplayConnector("rp", path, machine="m", speed=10.0, state=st),
                 lambda values: None, "m.v", True)  # fmt: skip
    elif kind == "camera":
        folder = tmp_path / "cam"
        folder.mkdir()
        seen: dict[str, float] = {}

        def feed_cam(values: list[float]) -> None:
            for v in values:
                f = folder / f"img_{v:g}.png"
                f.write_bytes(b"\x89PNG fake image " + str(v).encode())
                seen[str(f)] = v

        class ValueCamera(CameraFolderConnector):  # the image "score" is the value fed, to compare
            def next_batch(self, max_items: int = 1000) -> Any:
                b = super().next_batch(max_items)
                b.readings = [r._replace(value=seen[r.ref]) for r in b.readings]
                return b

        p = Peer(lambda st: ValueCamera("cam", folder, settle_s=0.0, scan_interval=0.05, state=st),
                 feed_cam, "cam.image", True)  # fmt: skip
    else:
        holder: list[IngestConnector] = []

        def make_ingest(st: dict[str, Any] | None) -> Connector:
            holder.append(IngestConnector("http", known_tags=["m.v"], state=st))
            return holder[-1]

        def feed_ingest(values: list[float]) -> None:
            for v in values:
                holder[-1].submit(json.dumps({"machine": "m", "ts": time.time(), "values": {"v": v}}))

        p = Peer(make_ingest, feed_ingest, "m.v", False)
    yield p
    p.cleanup()


def test_connector_contract(peer: Peer) -> None:
    c = peer.make(None)
    t0 = time.monotonic()
    early = c.next_batch(100).readings
    assert time.monotonic() - t0 < 0.5, "next_batch must not block"
    # values written before a subscription exists may be overwritten unseen (OPC UA reports the
    # current value when it subscribes): feed once the connector says it is connected
    assert wait(lambda: c.connected_, 20), "the connector must report connected_"

    first = [1.0, 2.0, 3.0]
    peer.feed(first)
    got = collect(c, set(first), peer.tag, got=early)
    assert all(isinstance(r, Reading) and r.source == c.name for r in got)
    c.commit()
    snap = c.snapshot()
    json.dumps(snap)
    c.close()
    c.close()  # idempotent

    c2 = peer.make(json.loads(json.dumps(snap)))
    try:
        second = [4.0, 5.0, 6.0]
        peer.feed(second)
        got2 = collect(c2, set(second), peer.tag)
        if peer.keeps_history:
            again = {r.value for r in got2 if r.tag == peer.tag} & set(first)
            assert not again, f"committed data delivered again: {again}"
        status = c2.status()
        assert status.received >= len(second) and status.name == c2.name
    finally:
        c2.close()
