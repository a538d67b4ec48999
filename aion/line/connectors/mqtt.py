"""MQTT 3.1.1/5 connector (paho-mqtt): wildcards, JSON payloads, QoS 1, persistent sessions.

Messages are acknowledged (PUBACK) only after :meth:`MqttConnector.commit`, that is after the
readings are stored or buffered on disk; a crash before that makes the broker redeliver them
from the persistent session, and idempotent storage drops the copies.

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
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from aion.line.codec import PayloadDecoder
from aion.line.connectors.base import BoundedQueue, Connector
from aion.line.errors import ConnectorError
from aion.line.model import Batch


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
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
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
        # the client id is the persistent session's identity: keep it across restarts
        self.client_id = client_id or (state or {}).get("client_id") or f"aion-{name}-{uuid.uuid4().hex[:8]}"
        self.map_ = TopicMap(self.topics)
        self.decoder_ = PayloadDecoder(self.known_tags)
        self.queue_: BoundedQueue[_Msg] = BoundedQueue(queue_size)
        self.pending_: list[_Msg] = []
        self.generation_ = 0
        self._lock = threading.Lock()
        self.closed_ = False
        host, port = parse_mqtt_url(url)
        # 0: MQTT 5, except the embedded broker (amqtt), which speaks 3.1.1
        v5 = protocol == 5 or (protocol == 0 and not url.startswith("embedded"))
        self.client_ = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if username:
            self.client_.username_pw_set(username, password or None)
        self.client_.reconnect_delay_set(1, 2)
        self.client_.on_connect = self._on_connect
        self.client_.on_disconnect = self._on_disconnect
        self.client_.on_message = self._on_message
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry_s
            props.ReceiveMaximum = receive_maximum
        kwargs: dict[str, Any] = {"clean_start": False, "properties": props} if v5 else {}
        self.client_.connect_async(host, port, keepalive=15, **kwargs)
        self.client_.loop_start()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            self.last_error_ = str(rc)
            return
        with self._lock:
            self.generation_ += 1
        self.connected_ = True
        client.subscribe([(f, self.qos) for f in self.map_.filters])

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        self.connected_ = False
        self.last_error_ = f"disconnected: {rc}"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        item = _Msg(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self.generation_)
        while not self.queue_.put(item, timeout=0.5):  # full: hold the network thread (backpressure)
            if self.closed_:
                return

    def next_batch(self, max_items: int = 1000) -> Batch:
        out = Batch()
        while len(out) < max_items:
            msgs = self.queue_.drain(64)
            if not msgs:
                break
            for m in msgs:
                b = self.decoder_.decode(m.payload, self.map_.machine_of(m.topic), self.name)
                out.readings.extend(b.readings)
                out.rejects.extend(b.rejects)
            self.pending_.extend(msgs)
        return self._count(out)

    def commit(self) -> None:
        pending, self.pending_ = self.pending_, []
        gen = self.generation_
        for m in pending:
            # a message id from an earlier connection means nothing now; the broker redelivers it
            if m.qos > 0 and m.generation == gen:
                self.client_.ack(m.mid, m.qos)

    def snapshot(self) -> dict[str, Any]:
        return {"client_id": self.client_id}

    def close(self) -> None:
        if self.closed_:
            return
        self.closed_ = True
        # the PUBACKs of committed messages leave before the DISCONNECT, and the network thread
        # writes both before it stops: otherwise the broker redelivers committed messages
        deadline = time.monotonic() + 3.0
        while self.client_._out_packet and time.monotonic() < deadline:
            time.sleep(0.01)
        self.client_.disconnect()
        while self.client_.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.client_.loop_stop()
