"""Write-back against real peers: an alarm publishes to Mosquitto and writes a Modbus register,
only while a person has the line's interlock enabled; every attempt (blocked, done, failed) is
audited, and a failed write never stops the pipeline."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from aion.line.alarms import AlarmManager
from aion.line.buffer import DiskBuffer
from aion.line.config import parse_line
from aion.line.connectors.ingest import IngestConnector
from aion.line.pipeline import Pipeline
from aion.line.scoring import RulesScorer
from aion.line.store.sqlite import SqliteStore
from aion.line.writeback import Interlock, WriteBack

from .peers import ModbusDevice, wait_for


def test_alarm_writes_back_only_behind_the_interlock_and_is_audited(
    system_mosquitto: str, modbus_device: ModbusDevice, tmp_path: Path
) -> None:
    topic = f"aiontest/{uuid.uuid4().hex[:8]}/command"
    cfg = parse_line({
        "line": "wb",
        "machines": [{"name": "pump1", "tags": [{"name": "pressure", "low": 0.12, "deadband": 0.02}]}],
        "actions": [
            {"name": "stop-pump", "kind": "mqtt_publish", "when": {"tag": "pump1.pressure", "rule": "low"},
             "url": system_mosquitto, "topic": topic, "payload": {"command": "stop"}},
            {"name": "reject-part", "kind": "modbus_write", "when": {"rule": "low"},
             "port": modbus_device.port, "address": "hr:5", "value": 1},
            {"name": "never", "kind": "mqtt_publish", "when": {"rule": "high"}, "topic": topic},
        ],
    })  # fmt: skip
    got: list[dict] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    host, port = system_mosquitto.removeprefix("mqtt://").split(":")
    sub.connect(host, int(port))
    sub.subscribe(topic, 1)
    sub.loop_start()
    time.sleep(0.3)

    store = SqliteStore(tmp_path / "ts.sqlite")
    lock = Interlock(tmp_path / "interlock.json", "wb")
    ingest = IngestConnector("gw", known_tags=list(cfg.tags))
    pipe = Pipeline(
        "wb", [ingest], store, DiskBuffer(tmp_path / "buf.sqlite"), RulesScorer(cfg.tags),
        AlarmManager("wb", cfg.tags), writeback=WriteBack("wb", cfg.actions, lock, store.write_audit),
    )  # fmt: skip

    def pressure(*values: float) -> None:
        for v in values:
            ingest.submit(json.dumps({"machine": "pump1", "ts": time.time(), "values": {"pressure": v}}))
            time.sleep(0.002)
        pipe.step()

    try:
        pressure(0.25, 0.05)  # alarm with the interlock off (the default)
        assert [(r.action, r.outcome) for r in store.audit()] == [
            ("reject-part", "blocked"),
            ("stop-pump", "blocked"),
        ]
        time.sleep(0.5)
        assert got == [] and modbus_device.read(5, 1) == [0]

        pressure(0.25)  # cleared
        lock.enable("kim@example")  # a person enables write-back for this line
        pressure(0.04)
        outcomes = {(r.action, r.outcome) for r in store.audit(limit=2)}
        assert outcomes == {("stop-pump", "done"), ("reject-part", "done")}
        assert wait_for(lambda: got == [{"command": "stop"}], 5)
        assert modbus_device.read(5, 1) == [1]

        modbus_device.stop()  # the PLC is gone: the write fails, is audited, the pipeline goes on
        pressure(0.25, 0.03)
        last = {r.action: r for r in store.audit(limit=2)}
        assert last["reject-part"].outcome == "failed" and last["reject-part"].detail
        assert last["stop-pump"].outcome == "done"
        assert store.count() == 6 and pipe.stats_.alarms_raised == 3
    finally:
        pipe.close()
        sub.loop_stop()
        sub.disconnect()
