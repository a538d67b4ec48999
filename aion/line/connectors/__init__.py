"""Connectors: MQTT, OPC UA, Modbus TCP, file replay, camera folder, HTTP ingest (in-process and via the web app).

Heavy protocol libraries are imported when a connector of that kind is built.
"""

from __future__ import annotations

import inspect
from typing import Any

from aion.line.config import LineConfig, SourceConfig
from aion.line.connectors.base import BoundedQueue, Connector, ConnectorStatus
from aion.line.errors import LineConfigError

__all__ = ["BoundedQueue", "Connector", "ConnectorStatus", "make_connector"]


def _cls(kind: str) -> type[Connector]:
    if kind == "mqtt":
        from aion.line.connectors.mqtt import MqttConnector

        return MqttConnector
    if kind == "modbus":
        from aion.line.connectors.modbus import ModbusConnector

        return ModbusConnector
    if kind == "opcua":
        from aion.line.connectors.opcua import OpcUaConnector

        return OpcUaConnector
    if kind == "replay":
        from aion.line.connectors.replay import ReplayConnector

        return ReplayConnector
    if kind == "camera":
        from aion.line.connectors.camera import CameraFolderConnector

        return CameraFolderConnector
    if kind == "http":
        from aion.line.connectors.http import HttpInboxConnector

        return HttpInboxConnector
    if kind == "ingest":
        from aion.line.connectors.ingest import IngestConnector

        return IngestConnector
    raise LineConfigError(f"알 수 없는 소스 종류: {kind} / Unknown source kind {kind!r}")


def make_connector(source: SourceConfig, line: LineConfig, state: dict[str, Any] | None = None) -> Connector:
    """Build the connector a ``sources:`` entry describes."""
    cls = _cls(source.kind)
    params = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = dict(source.options)
    unknown = set(kwargs) - set(params)
    if unknown:
        raise LineConfigError(
            f"알 수 없는 옵션: {source.name}: {sorted(unknown)} / Unknown options for source {source.name!r}: "  # noqa: E501
            f"{sorted(unknown)}; valid: {sorted(p for p in params if p not in ('self', 'name', 'state', 'tags'))}"  # noqa: E501
        )
    if "tags" in params:
        kwargs["tags"] = line.tags_of(source.name)
    if "known_tags" in params and not line.accept_unknown_tags and "known_tags" not in kwargs:
        kwargs["known_tags"] = list(line.tags)
    if "client_id" in params and not kwargs.get("client_id") and not (state or {}).get("client_id"):
        # the persistent session's identity must not depend on a state file written after start:
        # a pipeline killed before its first save resumes the same broker session
        kwargs["client_id"] = f"aion-{line.line}-{source.name}"
    return cls(source.name, state=state, **kwargs)  # type: ignore[call-arg]
