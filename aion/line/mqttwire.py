"""A small MQTT 3.1.1/5 client for the line's hot path: packets cut out in bulk, PUBACKs batched.

paho-mqtt hands over one message per callback and writes one PUBACK per socket call, which
caps a QoS 1 subscriber at about 11,000 messages/s on a 2-core PC; the line needs twice that
with room left for scoring and storage. This client reads whatever the socket holds, cuts every
complete packet out of it in one pass, and acknowledges a committed batch in one write.

It implements what the line needs and no more: CONNECT (clean or persistent session,
username/password, MQTT 5 session expiry and receive maximum), SUBSCRIBE with QoS 0/1,
incoming PUBLISH at QoS 0/1, PUBACK, PINGREQ/PINGRESP, DISCONNECT, and outgoing PUBLISH at
QoS 0/1 (load generators). paho stays the client of write-back and the simulator.

>>> encode_varint(321)
b'\\xc1\\x02'
>>> decode_varint(b'\\xc1\\x02', 0)
(321, 2)
>>> pkt = publish_packet("a/b", b"hi", qos=1, mid=7)
>>> msgs, others, used = parse_packets(pkt + pkt[:3], v5=False)
>>> msgs, others, used == len(pkt)
([Message(topic='a/b', payload=b'hi', mid=7, qos=1, dup=False)], [], True)
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from aion.line.errors import ConnectorError

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
READ_SIZE = 256 * 1024
MAX_PACKET = 16 * 1024 * 1024


class WireError(ConnectorError):
    """The broker refused us, broke the protocol, or went away."""


class Message(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool


def encode_varint(n: int) -> bytes:
    """MQTT's variable byte integer (remaining length, property lengths)."""
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def decode_varint(buf: bytes | bytearray, i: int) -> tuple[int, int]:
    """``(value, next index)``; ``(-1, i)`` when ``buf`` ends inside the integer."""
    value, mult, n = 0, 1, len(buf)
    while True:
        if i >= n:
            return -1, i
        b = buf[i]
        value += (b & 127) * mult
        i += 1
        if b < 128:
            return value, i
        mult *= 128
        if mult > 128**3:
            raise WireError("MQTT 길이 필드 오류 / malformed MQTT length field")


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int = 0, mid: int = 0, v5: bool = False) -> bytes:
    """One PUBLISH packet, ready to write (load generators build many and write them at once)."""
    body = _str(topic) + (struct.pack("!H", mid) if qos else b"") + (b"\x00" if v5 else b"") + payload
    return _packet(0x30 | (qos << 1), body)


def puback_packets(mids: Iterable[int]) -> bytes:
    """PUBACKs for many message ids in one byte string (success needs no reason code in MQTT 5)."""
    return b"".join(b"\x40\x02" + struct.pack("!H", m) for m in mids)


def parse_packets(
    buf: bytes | bytearray, v5: bool, max_messages: int = 0
) -> tuple[list[Message], list[tuple[int, bytes]], int]:
    """The complete packets in ``buf`` (at most ``max_messages`` PUBLISH when given): messages,
    other packets as ``(type, body)``, and how many bytes were used (the rest waits)."""
    msgs: list[Message] = []
    others: list[tuple[int, bytes]] = []
    topics: dict[bytes, str] = {}
    pos, n = 0, len(buf)
    limit = max_messages or n
    while pos + 2 <= n and len(msgs) < limit:
        head = buf[pos]
        length, i = decode_varint(buf, pos + 1)
        if length < 0 or i + length > n:
            break
        end = i + length
        if head >> 4 == PUBLISH:
            qos = (head >> 1) & 3
            tlen = (buf[i] << 8) | buf[i + 1]
            j = i + 2 + tlen
            raw = bytes(buf[i + 2 : j])
            topic = topics.get(raw)
            if topic is None:
                topic = topics[raw] = raw.decode("utf-8", "replace")
            mid = 0
            if qos:
                mid = (buf[j] << 8) | buf[j + 1]
                j += 2
            if v5:
                plen, j = decode_varint(buf, j)
                j += plen
            msgs.append(Message(topic, bytes(buf[j:end]), mid, qos, bool(head & 0x08)))
        else:
            others.append((head >> 4, bytes(buf[i:end])))
        pos = end
    return msgs, others, pos


@dataclass
class ConnectOptions:
    host: str
    port: int
    client_id: str
    clean: bool = False
    v5: bool = True
    keepalive: int = 30
    username: str = ""
    password: str = ""
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 2000
    timeout_s: float = 5.0


class WireClient:
    """One connection to a broker. Reads happen on one thread; writes are locked, any thread."""

    def __init__(self, opts: ConnectOptions) -> None:
        self.opts = opts
        self.sock_: socket.socket | None = None
        self.buf_ = bytearray()
        self.session_present_ = False
        self.early_: list[Message] = []  # a persistent session's messages that came with CONNACK
        self.acked_ = 0  # PUBACKs received for our own QoS 1 publishes
        self._wlock = threading.Lock()
        self._last_sent = self._last_recv = time.monotonic()
        self._next_mid = 0

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> bool:
        """Open the socket and the MQTT session; True when the broker kept an earlier session."""
        o = self.opts
        try:
            sock = socket.create_connection((o.host, o.port), timeout=o.timeout_s)
        except OSError as e:
            raise WireError(f"브로커 연결 실패 {o.host}:{o.port} / cannot reach broker: {e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock_ = sock
        flags = (0x02 if o.clean else 0) | (0x80 if o.username else 0) | (0x40 if o.password else 0)
        var = b"\x00\x04MQTT" + bytes([5 if o.v5 else 4, flags]) + struct.pack("!H", o.keepalive)
        if o.v5:
            props = (
                b"\x11"
                + struct.pack("!I", o.session_expiry_s)
                + b"\x21"
                + struct.pack("!H", o.receive_maximum)
            )
            var += encode_varint(len(props)) + props
        payload = (
            _str(o.client_id)
            + (_str(o.username) if o.username else b"")
            + (_str(o.password) if o.password else b"")
        )
        self._send(_packet(0x10, var + payload))
        self.early_, others = self._wait_for(CONNACK, o.timeout_s)
        body = others[0][1]
        code = body[1] if len(body) > 1 else 255
        if code != 0:
            self.close()
            raise WireError(
                f"브로커가 연결을 거부함 (코드 {code}) / broker refused the connection (code {code})"
            )
        self.session_present_ = bool(body[0] & 1)
        return self.session_present_

    def subscribe(self, filters: Iterable[tuple[str, int]]) -> list[Message]:
        """Subscribe and wait for the SUBACK; returns messages that arrived before it (a
        persistent session's queue is delivered right after CONNACK)."""
        body = struct.pack("!H", self._mid()) + (b"\x00" if self.opts.v5 else b"")
        for f, qos in filters:
            body += _str(f) + bytes([qos])
        self._send(_packet(0x82, body))
        msgs, others = self._wait_for(SUBACK, self.opts.timeout_s)
        msgs, self.early_ = self.early_ + msgs, []
        codes = others[0][1][2:]
        if self.opts.v5 and codes:
            plen, k = decode_varint(codes, 0)
            codes = codes[k + plen :]
        if any(c >= 0x80 for c in codes):
            raise WireError(f"구독 거부 {list(codes)} / subscription refused: {list(codes)}")
        return msgs

    def _wait_for(self, kind: int, timeout: float) -> tuple[list[Message], list[tuple[int, bytes]]]:
        deadline = time.monotonic() + timeout
        got: list[Message] = []
        while time.monotonic() < deadline:
            msgs, others = self.read(max(0.0, deadline - time.monotonic()))
            got.extend(msgs)
            wanted = [p for p in others if p[0] == kind]
            if wanted:
                return got, wanted
        raise WireError(f"브로커 응답 없음 / broker did not answer (waiting for packet type {kind})")

    # -- reading ----------------------------------------------------------------------------
    def read(self, timeout: float, max_messages: int = 0) -> tuple[list[Message], list[tuple[int, bytes]]]:
        """Complete packets, at most ``max_messages`` PUBLISH when given: first those already
        read, else whatever arrives within ``timeout``. Sends PINGREQ when the connection has
        been quiet, and raises :class:`WireError` when it is gone. What is not returned stays
        in this client's buffer (at most one read of 256 KiB plus one packet), so a caller that
        takes few messages at a time bounds its memory whatever the broker sends."""
        sock = self._sock()
        self.ping_if_idle()
        if self.buf_:
            got = self._parse(max_messages)
            if got[0] or got[1]:
                return got
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            ka = self.opts.keepalive
            if ka and time.monotonic() - self._last_recv > 1.5 * ka:
                raise WireError("브로커 응답 없음 (keepalive) / broker silent past keepalive")
            return [], []
        try:
            data = sock.recv(READ_SIZE)
        except OSError as e:
            raise WireError(f"연결 끊김 / connection lost: {e}") from e
        if not data:
            raise WireError("브로커가 연결을 닫음 / broker closed the connection")
        self._last_recv = time.monotonic()
        self.buf_ += data
        return self._parse(max_messages)

    def _parse(self, max_messages: int) -> tuple[list[Message], list[tuple[int, bytes]]]:
        buf = self.buf_
        msgs, others, used = parse_packets(buf, self.opts.v5, max_messages)
        del buf[:used]
        if len(buf) > MAX_PACKET:
            raise WireError(f"패킷이 너무 큼 / packet over {MAX_PACKET} bytes")
        for kind, _body in others:
            if kind == PUBACK:
                self.acked_ += 1
            elif kind == DISCONNECT:
                raise WireError("브로커가 연결을 끊음 / broker sent DISCONNECT")
        return msgs, others

    # -- writing ----------------------------------------------------------------------------
    def ack(self, mids: Iterable[int]) -> None:
        """PUBACK these message ids, in one write."""
        data = puback_packets(mids)
        if data:
            self._send(data)

    def ping_if_idle(self) -> None:
        """PINGREQ when nothing was sent for half the keepalive."""
        ka = self.opts.keepalive
        if ka and time.monotonic() - self._last_sent > ka / 2:
            self._send(b"\xc0\x00")

    def send_raw(self, data: bytes) -> None:
        """Write pre-built packets (see :func:`publish_packet`)."""
        self._send(data)

    def _mid(self) -> int:
        self._next_mid = self._next_mid % 65535 + 1
        return self._next_mid

    def _sock(self) -> socket.socket:
        if self.sock_ is None:
            raise WireError("연결되어 있지 않음 / not connected")
        return self.sock_

    def _send(self, data: bytes) -> None:
        with self._wlock:
            try:
                self._sock().sendall(data)
            except OSError as e:
                raise WireError(f"연결 끊김 / connection lost: {e}") from e
            self._last_sent = time.monotonic()

    def disconnect(self) -> None:
        """A clean DISCONNECT (the session stays on the broker if it is persistent), then close."""
        with contextlib.suppress(WireError):
            self._send(b"\xe0\x00")
        self.close()

    def close(self) -> None:
        sock, self.sock_ = self.sock_, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
