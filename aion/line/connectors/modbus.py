"""Modbus TCP connector (pymodbus): polls holding/input registers, decodes, scales.

Tag addresses are ``hr:N`` (holding) or ``ir:N`` (input), zero-based. Types: int16, uint16,
int32, uint32, float32, with byte order (inside a register) and word order (between the two
registers of a 32-bit value). The value stored is ``raw * scale + offset``.

>>> decode_registers([0x3FC0, 0x0000], "float32")
1.5
>>> decode_registers([0x0000, 0x3FC0], "float32", word_order="little")
1.5
>>> decode_registers([0xFFFF], "int16"), decode_registers([0xFFFF], "uint16")
(-1, 65535)
>>> encode_registers(-2, "int32")
[65535, 65534]
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterable
from typing import Any

from aion.line.config import TagConfig
from aion.line.connectors.base import BoundedQueue, Connector, backoff
from aion.line.errors import ConnectorError
from aion.line.model import Batch, Reading

_FMT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}
WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


def _swap(reg: int) -> int:
    return ((reg & 0xFF) << 8) | (reg >> 8)


def decode_registers(regs: list[int], dtype: str, byte_order: str = "big", word_order: str = "big") -> float:
    """Registers as read from the device to a number."""
    if dtype not in _FMT:
        raise ConnectorError(
            f"지원하지 않는 형식: {dtype} / Unsupported dtype {dtype!r}; valid: {sorted(_FMT)}"
        )
    words = list(regs[: WIDTH[dtype]])
    if byte_order == "little":
        words = [_swap(w) for w in words]
    if word_order == "little":
        words.reverse()
    raw = struct.pack(">" + "H" * len(words), *words)
    return struct.unpack(">" + _FMT[dtype], raw)[0]


def encode_registers(value: float, dtype: str, byte_order: str = "big", word_order: str = "big") -> list[int]:
    """A number to the registers a device expects (the inverse of :func:`decode_registers`)."""
    fmt = _FMT[dtype]
    raw = struct.pack(">" + fmt, value if dtype == "float32" else int(round(value)))
    words = list(struct.unpack(">" + "H" * WIDTH[dtype], raw))
    if word_order == "little":
        words.reverse()
    if byte_order == "little":
        words = [_swap(w) for w in words]
    return words


def parse_address(address: str) -> tuple[str, int]:
    """``hr:10`` to ``("hr", 10)``."""
    kind, _, num = address.partition(":")
    if kind not in ("hr", "ir") or not num.isdigit():
        raise ConnectorError(
            f"잘못된 Modbus 주소: {address!r} (예: hr:0, ir:4) / Invalid Modbus address {address!r}; "
            "use hr:N (holding) or ir:N (input)"
        )
    return kind, int(num)


class ModbusConnector(Connector):
    kind = "modbus"

    def __init__(
        self,
        name: str,
        tags: Iterable[TagConfig],
        host: str = "127.0.0.1",
        port: int = 502,
        unit: int = 1,
        interval: float = 1.0,
        timeout: float = 1.0,
        queue_size: int = 10000,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
        self.tags = list(tags)
        self.host = host
        self.port = port
        self.unit = unit
        self.interval = interval
        self.timeout = timeout
        self.queue_size = queue_size
        self.polls_ = int((state or {}).get("polls", 0))
        self.plan_ = [(t, *parse_address(t.address)) for t in self.tags]
        self.queue_: BoundedQueue[Reading] = BoundedQueue(queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"modbus-{name}", daemon=True)
        self._thread.start()

    def _poll(self, client: Any) -> list[Reading]:
        blocks: dict[str, tuple[int, int]] = {}
        for t, kind, addr in self.plan_:
            lo, hi = blocks.get(kind, (addr, addr))
            blocks[kind] = (min(lo, addr), max(hi, addr + WIDTH[t.dtype]))
        regs: dict[str, tuple[int, list[int]]] = {}
        for kind, (lo, hi) in blocks.items():
            values: list[int] = []
            for start in range(lo, hi, 120):  # a Modbus read returns at most 125 registers
                count = min(120, hi - start)
                fn = client.read_holding_registers if kind == "hr" else client.read_input_registers
                rr = fn(start, count=count, device_id=self.unit)
                if rr.isError():
                    raise ConnectorError(f"Modbus 읽기 오류 / Modbus read error at {kind}:{start}: {rr}")
                values.extend(rr.registers)
            regs[kind] = (lo, values)
        now = time.time()
        out = []
        for t, kind, addr in self.plan_:
            lo, values = regs[kind]
            raw = decode_registers(
                values[addr - lo : addr - lo + WIDTH[t.dtype]], t.dtype, t.byte_order, t.word_order
            )
            out.append(Reading(t.name, now, raw * t.scale + t.offset, 0, self.name))
        return out

    def _run(self) -> None:
        from pymodbus.client import ModbusTcpClient

        attempt = 0
        client = ModbusTcpClient(self.host, port=self.port, timeout=self.timeout, retries=0)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if not client.connected and not client.connect():
                    raise ConnectorError(f"연결 실패 / Cannot connect to Modbus {self.host}:{self.port}")
                for r in self._poll(client):
                    while not self.queue_.put(r, timeout=0.5):
                        if self._stop.is_set():
                            return
                self.connected_ = True
                self.polls_ += 1
                attempt = 0
                wait = self.interval - (time.monotonic() - started)
            except Exception as e:  # top of a long-running loop: log, back off, retry
                self.connected_ = False
                self.last_error_ = str(e)[:200]
                client.close()
                wait = backoff(attempt)
                attempt += 1
            self._stop.wait(max(0.0, wait))
        client.close()

    def next_batch(self, max_items: int = 1000) -> Batch:
        return self._count(Batch(self.queue_.drain(max_items)))

    def snapshot(self) -> dict[str, Any]:
        return {"polls": self.polls_}

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
