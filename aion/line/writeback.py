"""Write-back: an alarm writes a PLC tag (Modbus, OPC UA) or publishes an MQTT message.

Nothing is written unless a person enabled the line's :class:`Interlock`; every attempt,
done, blocked or failed, goes to the audit callback.

>>> import tempfile, os
>>> lock = Interlock(os.path.join(tempfile.mkdtemp(), "interlock.json"), "l1")
>>> lock.enabled
False
>>> lock.enable("kim"); lock.enabled, lock.state()["by"]
(True, 'kim')
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aion.line.config import ActionConfig
from aion.line.connectors.modbus import encode_registers, parse_address
from aion.line.connectors.mqtt import parse_mqtt_url
from aion.line.errors import LineConfigError, WriteBackError
from aion.line.model import Alarm, AuditRecord


class Interlock:
    """Per-line switch for write-back, persisted so it survives restarts; off by default."""

    def __init__(self, path: str | Path, line: str) -> None:
        self.path = Path(path)
        self.line = line

    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {"enabled": False, "by": "", "at": 0.0}

    @property
    def enabled(self) -> bool:
        return bool(self.state().get("enabled"))

    def _set(self, enabled: bool, by: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"enabled": enabled, "by": by, "at": time.time(), "line": self.line}))
        os.replace(tmp, self.path)

    def enable(self, by: str) -> None:
        self._set(True, by)

    def disable(self, by: str) -> None:
        self._set(False, by)


def modbus_write(
    host: str,
    port: int,
    address: str,
    value: float,
    unit: int = 1,
    dtype: str = "uint16",
    timeout: float = 2.0,
) -> None:
    from pymodbus.client import ModbusTcpClient

    kind, addr = parse_address(address)
    if kind != "hr":
        raise WriteBackError(
            f"입력 레지스터는 쓸 수 없음: {address} / Only holding registers (hr:N) are writable"
        )
    client = ModbusTcpClient(host, port=port, timeout=timeout, retries=0)
    try:
        if not client.connect():
            raise WriteBackError(f"Modbus 연결 실패 / Cannot connect to {host}:{port}")
        rr = client.write_registers(addr, encode_registers(value, dtype), device_id=unit)
        if rr.isError():
            raise WriteBackError(f"Modbus 쓰기 오류 / Modbus write error: {rr}")
    finally:
        client.close()


def opcua_write(url: str, node: str, value: float, timeout: float = 4.0) -> None:
    from asyncua import Client, ua

    async def go() -> None:
        async with Client(url, timeout=timeout) as client:
            n = client.get_node(node)
            vt = await n.read_data_type_as_variant_type()
            await n.write_value(
                ua.DataValue(ua.Variant(value if vt == ua.VariantType.Double else type(value)(value), vt))
            )

    asyncio.run(go())


def mqtt_publish(url: str, topic: str, payload: str, qos: int = 1, timeout: float = 5.0) -> None:
    import paho.mqtt.client as mqtt

    host, port = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        client.connect(host, port, keepalive=10)
        client.loop_start()
        info = client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise WriteBackError(f"MQTT 발행 실패 / MQTT publish not confirmed: {topic}")
    except OSError as e:
        raise WriteBackError(f"MQTT 연결 실패 / Cannot reach broker {url}: {e}") from e
    finally:
        client.disconnect()
        client.loop_stop()


class WriteBack:
    """Runs the configured actions for an alarm, behind the interlock, auditing each attempt."""

    def __init__(
        self,
        line: str,
        actions: list[ActionConfig],
        interlock: Interlock,
        audit: Callable[[AuditRecord], None],
    ) -> None:
        self.line = line
        self.actions = actions
        self.interlock = interlock
        self.audit = audit

    def matches(self, action: ActionConfig, alarm: Alarm) -> bool:
        fields = {"tag": alarm.tag, "rule": alarm.rule, "severity": alarm.severity}
        return all(fields.get(k) == v for k, v in action.when.items())

    def _do(self, action: ActionConfig) -> tuple[str, str]:
        o = action.options
        try:
            if action.kind == "modbus_write":
                modbus_write(
                    o.get("host", "127.0.0.1"),
                    int(o.get("port", 502)),
                    str(o["address"]),
                    float(o["value"]),
                    int(o.get("unit", 1)),
                    str(o.get("dtype", "uint16")),
                )
                return f"modbus://{o.get('host', '127.0.0.1')}:{o.get('port', 502)}/{o['address']}", str(
                    o["value"]
                )
            if action.kind == "opcua_write":
                opcua_write(str(o["url"]), str(o["node"]), float(o["value"]))
                return f"{o['url']}#{o['node']}", str(o["value"])
            if action.kind == "mqtt_publish":
                payload = o.get("payload", "")
                text = payload if isinstance(payload, str) else json.dumps(payload)
                mqtt_publish(
                    str(o.get("url", "mqtt://127.0.0.1:1883")), str(o["topic"]), text, int(o.get("qos", 1))
                )
                return f"{o.get('url', 'mqtt://127.0.0.1:1883')}/{o['topic']}", text
        except KeyError as e:
            raise LineConfigError(
                f"동작 옵션 누락: {action.name}: {e} / Action {action.name!r} misses option {e}"
            ) from e
        raise LineConfigError(f"알 수 없는 동작: {action.kind} / Unknown action kind {action.kind!r}")

    def on_alarm(self, alarm: Alarm) -> list[AuditRecord]:
        """Fire every matching action for a newly raised alarm."""
        out = []
        for action in self.actions:
            if not self.matches(action, alarm):
                continue
            target = action.kind
            if not self.interlock.enabled:
                rec = AuditRecord(
                    time.time(),
                    self.line,
                    action.name,
                    target,
                    "",
                    "blocked",
                    "인터록 꺼짐 / interlock disabled",
                    alarm.id,
                )
            else:
                try:
                    target, value = self._do(action)
                    rec = AuditRecord(
                        time.time(), self.line, action.name, target, value, "done", "", alarm.id
                    )
                except Exception as e:  # a failed write is audited, never fatal to the pipeline
                    rec = AuditRecord(
                        time.time(), self.line, action.name, target, "", "failed", str(e)[:300], alarm.id
                    )
            self.audit(rec)
            out.append(rec)
        return out
