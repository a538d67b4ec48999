"""MQTT 3.1.1/5 connector: wildcards, JSON payloads, QoS 1, persistent sessions.

Messages are acknowledged (PUBACK) only after :meth:`MqttConnector.commit`, that is after the
readings are stored or buffered on disk; a crash before that makes the broker redeliver them
from the persistent session, and idempotent storage drops the copies.

The network side is :mod:`aion.line.mqttwire`. ``next_batch`` reads the socket itself, without
waiting, and cuts every packet out of a read at once; a small thread per connector connects,
subscribes, keeps the session alive and reconnects with capped backoff. While the pipeline does
not call ``next_batch`` (its store and buffer are full) nothing is read: TCP and the broker hold
the rest (backpressure). At most ``queue_size`` messages wait decoded-to-be, plus one socket
read (256 KiB) in the wire client, whatever the broker sends; with MQTT 5 the broker also sends
no more than ``receive_maximum`` unacknowledged (capped at ``queue_size``; a broker configured
with unlimited in-flight messages may ignore it). PUBACKs of a committed batch leave in one write.

Topic filters may name a level ``{machine}``: ``aion/line1/{machine}/telemetry`` subscribes to
``aion/line1/+/telemetry`` and prefixes each field with the machine found in the topic.

>>> TopicMap(["a/{machine}/t", "b/#"]).filters
['a/+/t', 'b/#']
>>> TopicMap(["a/{machine}/t"]).machine_of("a/pump1/t")
'pump1'
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from aion.line.codec import PayloadDecoder
from aion.line.connectors.base import Connector, backoff
from aion.line.errors import ConnectorError
from aion.line.model import Batch
from aion.line.mqttwire import ConnectOptions, WireClient, WireError


def parse_mqtt_url(url: str, default_port: int = 1883) -> tuple[str, int]:
    """``mqtt://host:port`` to ``(host, port)``.

    >>> parse_mqtt_url("mqtt://127.0.0.1:1884")
    ('127.0.0.1', 1884)
    """
    u = urlparse(url if "://" in url else f"mqtt://{url}")
    if u.scheme not in ("mqtt", "tcp", "embedded"):
        raise ConnectorError(
            f"지원하지 않는 브로커 주소: {url} / Unsupported broker URL {url!r}; use mqtt://HOST:PORT"
        )
    return u.hostname or "127.0.0.1", u.port or default_port


class TopicMap:
    """Subscription filters and the machine each topic belongs to."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = list(patterns)
        self.filters = [p.replace("{machine}", "+") for p in self.patterns]
        self._levels = [p.split("/") for p in self.patterns]
        self._cache: dict[str, str] = {}

    def machine_of(self, topic: str) -> str:
        """The machine named by ``topic`` (cached: a line has few topics, matching is slow)."""
        found = self._cache.get(topic)
        if found is None:
            found = self._machine_of(topic)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[topic] = found
        return found

    def _machine_of(self, topic: str) -> str:
        parts = topic.split("/")
        for levels in self._levels:
            if "{machine}" in levels:
                i = levels.index("{machine}")
                if i < len(parts) and mqtt.topic_matches_sub(
                    "/".join(levels).replace("{machine}", "+"), topic
                ):
                    return parts[i]
        return ""


class _Msg(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class MqttConnector(Connector):
    kind = "mqtt"

    def __init__(
        self,
        name: str,
        url: str = "mqtt://127.0.0.1:1883",
        topics: Iterable[str] = ("aion/#",),
        qos: int = 1,
        client_id: str = "",
        protocol: int = 0,
        known_tags: Iterable[str] = (),
        queue_size: int = 20000,
        receive_maximum: int = 2000,
        session_expiry_s: int = 7 * 24 * 3600,
        username: str = "",
        password: str = "",
        keepalive_s: int = 30,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
        if qos not in (0, 1):
            raise ConnectorError(f"MQTT QoS는 0 또는 1 / MQTT qos must be 0 or 1, got {qos!r}")
        if protocol not in (0, 4, 5):
            raise ConnectorError(
                f"MQTT 프로토콜은 0(자동), 4(3.1.1), 5 / MQTT protocol must be 0 (auto), 4 (3.1.1) or 5, got {protocol!r}"
            )
        self.url = url
        self.topics = list(topics)
        self.qos = qos
        self.protocol = protocol
        self.known_tags = list(known_tags)
        self.queue_size = queue_size
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self.username = username
        self.password = password
        self.keepalive_s = keepalive_s
        # the client id is the persistent session's identity: keep it across restarts
        self.client_id = client_id or (state or {}).get("client_id") or f"aion-{name}-{uuid.uuid4().hex[:8]}"
        self.map_ = TopicMap(self.topics)
        self.decoder_ = PayloadDecoder(self.known_tags)
        # filled from the socket only when empty, with at most ``queue_size`` messages (the rest
        # waits, already read, in the wire client's buffer of at most 256 KiB)
        self.queue_: deque[_Msg] = deque()
        self.broken_ = threading.Event()
        self.pending_: list[_Msg] = []
        self.widest_ = 1  # the most readings one message held so far
        self.generation_ = 0
        self.client_: WireClient | None = None
        self.closed_ = False
        host, port = parse_mqtt_url(url)
        # 0: MQTT 5, except the embedded broker (amqtt), which speaks 3.1.1
        v5 = protocol == 5 or (protocol == 0 and not url.startswith("embedded"))
        self.options_ = ConnectOptions(
            host,
            port,
            self.client_id,
            clean=False,
            v5=v5,
            keepalive=keepalive_s,
            username=username,
            password=password,
            session_expiry_s=session_expiry_s,
            receive_maximum=max(1, min(receive_maximum, queue_size)),
        )
        self.thread_ = threading.Thread(target=self._run, name=f"mqtt-{name}", daemon=True)
        self.thread_.start()

    # -- connection thread: connect, subscribe, keep alive, reconnect with capped backoff ----
    def _run(self) -> None:
        attempt = 0
        while not self.closed_:
            client = WireClient(self.options_)
            try:
                client.connect()
                early = client.subscribe([(f, self.qos) for f in self.map_.filters])
                self.generation_ += 1
                gen = self.generation_
                self.queue_.extend(_Msg(m.topic, m.payload, m.mid, m.qos, gen) for m in early)
                self.client_ = client
                self.broken_.clear()
                self.connected_, self.last_error_, attempt = True, "", 0
                # the pipeline thread reads the socket in next_batch (no lock passed back and
                # forth per packet); this thread only keeps the session alive and notices breaks
                while not self.closed_ and not self.broken_.wait(0.5):
                    client.ping_if_idle()
            except WireError as e:
                if not self.closed_:
                    self.last_error_ = str(e)
            except Exception as e:  # noqa: BLE001 - the connection loop must survive anything
                self.last_error_ = f"{type(e).__name__}: {e}"
            finally:
                self.connected_ = False
                client.close()
            wake = time.monotonic() + backoff(attempt, 0.5, 5.0)
            attempt += 1
            while not self.closed_ and time.monotonic() < wake:
                time.sleep(0.05)

    def _read(self) -> bool:
        """One non-blocking read of the socket into the queue; False when nothing came."""
        client = self.client_
        if not self.connected_ or client is None:
            return False
        try:
            msgs, _ = client.read(0.0, max_messages=self.queue_size)
        except WireError as e:
            self.connected_ = False
            self.last_error_ = str(e)
            self.broken_.set()  # the connection thread reconnects; unacknowledged ones come again
            return False
        if not msgs:
            return False
        gen = self.generation_
        self.queue_.extend(_Msg(m.topic, m.payload, m.mid, m.qos, gen) for m in msgs)
        return True

    # -- pipeline side ----------------------------------------------------------------------
    def next_batch(self, max_items: int = 1000) -> Batch:
        out = Batch()
        decode, machine_of, name = self.decoder_.decode_into, self.map_.machine_of, self.name
        readings, queue, pending = out.readings, self.queue_, self.pending_
        while len(readings) < max_items:
            if not queue and not self._read():
                break
            # as many messages as fit, judged by the widest message seen: at most one over
            before = len(readings)
            k = min(len(queue), max(1, (max_items - before) // self.widest_))
            for _ in range(k):
                m = queue.popleft()
                decode(out, m.payload, machine_of(m.topic), name)
                pending.append(m)
            self.widest_ = max(self.widest_, -(-(len(readings) - before) // k))
        return self._count(out)

    def commit(self) -> None:
        pending, self.pending_ = self.pending_, []
        client, gen = self.client_, self.generation_
        if client is None:
            return
        # a message id from an earlier connection means nothing now; the broker redelivers it
        mids = [m.mid for m in pending if m.qos > 0 and m.generation == gen]
        if mids:
            try:
                client.ack(mids)
            except WireError as e:
                self.last_error_ = str(e)  # the network thread reconnects; the broker redelivers

    def snapshot(self) -> dict[str, Any]:
        return {"client_id": self.client_id}

    def close(self) -> None:
        if self.closed_:
            return
        self.closed_ = True
        # commit() wrote the PUBACKs synchronously, so they leave before the DISCONNECT
        client = self.client_
        if client is not None:
            client.disconnect()
        self.thread_.join(5.0)
