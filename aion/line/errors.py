"""Exceptions of the line pipeline: one root, :class:`LineError`, under :class:`aion.errors.AionError`."""

from __future__ import annotations

from aion.errors import AionError


class LineError(AionError):
    """Base of every error the line pipeline raises on purpose."""


class LineConfigError(LineError):
    """A line.yaml (or the equivalent web form) is invalid; the message names the field."""


class ConnectorError(LineError):
    """A connector could not be created or used (bad address, unsupported type)."""


class StoreUnavailable(LineError):
    """The time-series store cannot accept writes right now; the pipeline buffers to disk."""


class BufferFull(LineError):
    """The on-disk store-and-forward buffer reached its size limit; the pipeline applies backpressure."""


class Backpressure(LineError):
    """A bounded queue is full; the caller should retry later (HTTP 503 with Retry-After)."""


class WriteBackError(LineError):
    """A write-back action (Modbus, OPC UA, MQTT) failed or was blocked by the interlock."""
