"""``aion line bench``: N messages of 8 readings through a broker into storage and scoring.

Runs against the same broker, in one invocation:

1. a bare subscriber (the connector's wire client, QoS 1, nothing decoded), the broker's own
   rate on this machine;
2. the pipeline (MQTT connector, rules scorer, alarms, SQLite store) as fast as possible:
   ``messages_per_second``, ``readings_per_second``, ``lost``, ``duplicated``;
3. the pipeline at a fixed rate (5,000 messages/s by default): ``p50_ms``/``p99_ms`` from
   publish to stored and scored;
4. the pipeline fed from memory (no broker, no network): ``pipeline_only_messages_per_second``,
   the ceiling of decode, scoring, rules and storage on this machine;
5. a bare paho-mqtt subscriber, for reference (``paho_bare_messages_per_second``).

Publishers run in child processes, so they do not share the measured process's interpreter.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aion.line.simulate import BASE, TAGS

WINDOW = 15_000  # messages the publisher may run ahead of the consumer
VALUES = json.dumps({k: round(BASE[k], 3) for k in TAGS})  # the pump at rest, as JSON


def payload(ts: float, seq: int) -> bytes:
    """One pump message: 8 readings at ``ts`` with sequence number ``seq``."""
    return f'{{"ts": {ts:.6f}, "seq": {seq}, "values": {VALUES}}}'.encode()


def publisher(url: str, topic: str, n: int, rate: float, ready: Any, consumed: Any) -> None:
    """Child process: publish ``n`` pump messages (QoS 1) as fast as possible or at ``rate``/s.

    A load generator, not the thing measured: packets are built in chunks and written at once
    (:mod:`aion.line.mqttwire`), and it returns when the broker has acknowledged every one.
    It stays at most :data:`WINDOW` messages ahead of what the consumer reports in
    ``consumed``: a broker keeps only so much for a slow subscriber (Mosquitto's defaults:
    20 in flight per MQTT 3.1.1 client, the client's receive maximum for MQTT 5, then
    ``max_queued_messages 1000``) and drops the rest, so an unthrottled publisher would measure
    the broker's queue policy, not the pipeline's sustained rate."""
    from aion.line.connectors.mqtt import parse_mqtt_url
    from aion.line.mqttwire import ConnectOptions, WireClient, publish_packet

    host, port = parse_mqtt_url(url)
    client = WireClient(ConnectOptions(host, port, f"bench-pub-{uuid.uuid4().hex[:6]}", clean=True, v5=False))
    client.connect()
    ready.wait(30)
    chunk = 100 if rate <= 0 else max(1, int(rate / 500))
    start = time.time()
    sent = 0
    while sent < n:
        if rate > 0:
            delay = start + sent / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        k = min(chunk, n - sent)
        now = time.time()
        client.send_raw(
            b"".join(publish_packet(topic, payload(now, i), 1, i % 65535 + 1) for i in range(sent, sent + k))
        )
        sent += k
        client.read(0.0)
        while sent - client.acked_ > WINDOW or sent - consumed.value > WINDOW:
            client.read(0.002)
    deadline = time.time() + 120
    while client.acked_ < n and time.time() < deadline:
        client.read(0.05)
    client.disconnect()


def _spawn(url: str, topic: str, n: int, rate: float) -> tuple[Any, Any, Any]:
    """The publisher process, its start signal, and the shared count the consumer updates."""
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    consumed = ctx.Value("q", 0, lock=False)
    proc = ctx.Process(target=publisher, args=(url, topic, n, rate, ready, consumed), daemon=True)
    proc.start()
    return proc, ready, consumed


def _v5(url: str) -> bool:
    return not url.startswith("embedded")  # the embedded broker (amqtt) speaks 3.1.1


def bare_rate(url: str, n: int, timeout: float) -> float:
    """Messages/s from first publish to last arrival at a bare subscriber: the same wire client
    as the pipeline's connector, QoS 1, each read acknowledged at once, nothing decoded."""
    from aion.line.connectors.mqtt import parse_mqtt_url
    from aion.line.mqttwire import ConnectOptions, WireClient

    host, port = parse_mqtt_url(url)
    topic = f"aionbench/{uuid.uuid4().hex[:6]}/bare"
    sub = WireClient(
        ConnectOptions(
            host, port, f"bench-bare-{uuid.uuid4().hex[:6]}", clean=True, v5=_v5(url), receive_maximum=20000
        )
    )
    sub.connect()
    sub.subscribe([(topic, 1)])
    proc, ready, consumed = _spawn(url, topic, n, 0.0)
    time.sleep(0.3)
    ready.set()
    got, first_ts, last = 0, 0.0, 0.0
    end = time.time() + timeout
    while got < n and time.time() < end:
        msgs, _ = sub.read(0.5)
        if msgs:
            if not got:
                first_ts = json.loads(msgs[0].payload)["ts"]
            got += len(msgs)
            consumed.value = got
            sub.ack(m.mid for m in msgs)
            last = time.time()
    proc.join(30)
    sub.disconnect()
    return n / (last - first_ts) if got >= n and first_ts else got / timeout


def paho_bare_rate(url: str, n: int, timeout: float) -> tuple[float, int]:
    """The same with paho-mqtt (one callback and one PUBACK write per message), for reference:
    ``(messages/s over what arrived, how many arrived)``."""
    import paho.mqtt.client as mqtt

    from aion.line.connectors.mqtt import parse_mqtt_url

    host, port = parse_mqtt_url(url)
    topic = f"aionbench/{uuid.uuid4().hex[:6]}/paho"
    got = [0]
    first_ts: list[float] = []
    last = [0.0]
    proc, ready, consumed = _spawn(url, topic, n, 0.0)

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        if not first_ts:
            first_ts.append(json.loads(msg.payload)["ts"])
        got[0] += 1
        consumed.value = got[0]
        last[0] = time.time()

    v5 = _v5(url)
    sub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"bench-paho-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    sub.on_message = on_message
    props = None
    if v5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = 20000  # as the pipeline's connector asks
    sub.connect(host, port, properties=props)
    sub.subscribe(topic, 1)
    sub.loop_start()
    time.sleep(0.3)
    ready.set()
    end = time.time() + timeout
    while got[0] < n and time.time() < end and not (last[0] and time.time() - last[0] > 2.0):
        time.sleep(0.05)
    proc.join(30)
    sub.loop_stop()
    sub.disconnect()
    rate = got[0] / (last[0] - first_ts[0]) if first_ts and last[0] > first_ts[0] else 0.0
    return rate, got[0]


def bench_tags() -> dict[str, Any]:
    """The pump's tags with limits at half and one and a half times their resting values."""
    from aion.line.config import TagConfig

    return {f"pump1.{k}": TagConfig(f"pump1.{k}", high=BASE[k] * 1.5, low=BASE[k] * 0.5) for k in TAGS}


def bench_pipeline(source: Any, tags: dict[str, Any], workdir: Path, run: str, **kw: Any) -> Any:
    """The pipeline under test: rules scorer, alarms, SQLite store and disk buffer in ``workdir``."""
    from aion.line.alarms import AlarmManager
    from aion.line.buffer import DiskBuffer
    from aion.line.pipeline import Pipeline, tune_gc
    from aion.line.scoring import RulesScorer
    from aion.line.store.sqlite import SqliteStore

    tune_gc()  # as Pipeline.run does
    return Pipeline(
        "bench",
        [source],
        SqliteStore(workdir / f"ts-{run}.sqlite"),
        DiskBuffer(workdir / f"buf-{run}.sqlite"),
        RulesScorer(tags),
        AlarmManager("bench", tags),
        **kw,
    )


def pipeline_run(url: str, n: int, rate: float, timeout: float, workdir: Path) -> dict[str, Any]:
    """Publish ``n`` messages and run the pipeline until all are stored (or ``timeout``)."""
    from aion.line.connectors.mqtt import MqttConnector

    run = uuid.uuid4().hex[:6]
    tags = bench_tags()
    conn = MqttConnector(
        "bench",
        url,
        topics=[f"aionbench/{run}/{{machine}}/telemetry"],
        known_tags=tags,
        receive_maximum=20000,
        queue_size=50000,
    )
    lat: list[float] = []
    first = "pump1." + TAGS[0]

    def on_stored(scored: list) -> None:
        now = time.time()
        # one reading per message (the connector keeps a message's readings together, in order)
        lat.extend(now - r.ts for r, _ in scored[:: len(TAGS)] if r.tag == first)

    pipe = bench_pipeline(conn, tags, workdir, run, on_stored=on_stored)
    store = pipe.store
    deadline = time.time() + 10
    while not conn.connected_ and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # subscription settled
    proc, ready, consumed = _spawn(url, f"aionbench/{run}/pump1/telemetry", n, rate)
    ready.set()
    want = n * len(TAGS)
    t_end = time.time() + timeout
    first_ts: float | None = None
    while pipe.stats_.stored < want and time.time() < t_end:
        consumed.value = pipe.stats_.stored // len(TAGS)
        if pipe.step() == 0:
            time.sleep(0.001)
        if first_ts is None and lat:
            first_ts = time.time() - lat[0]
    done_at = time.time()
    proc.join(30)
    for _ in range(50):  # late redeliveries, if any, would show as duplicates
        pipe.step()
    stored = store.count()
    distinct = store.distinct_count()
    pipe.close()
    ms = np.array(lat) * 1000 if lat else np.array([float("nan")])
    elapsed = done_at - (first_ts or done_at)
    return {
        "messages": n,
        "seconds": elapsed,
        "messages_per_second": (stored / len(TAGS)) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "lost": max(0, want - distinct),
        "duplicated": stored - distinct,
    }


class _Payloads:
    """An in-memory source of pre-built MQTT payloads, decoded like the MQTT connector does."""

    kind = "memory"

    def __init__(self, payloads: list[bytes], known: set[str]) -> None:
        from aion.line.codec import PayloadDecoder

        self.name = "memory"
        self.payloads = payloads
        self.pos = 0
        self.decoder = PayloadDecoder(known)

    def next_batch(self, max_items: int = 1000) -> Any:
        from aion.line.model import Batch

        out = Batch()
        while self.pos < len(self.payloads) and len(out.readings) < max_items:
            self.decoder.decode_into(out, self.payloads[self.pos], "pump1", self.name)
            self.pos += 1
        return out

    def commit(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"pos": self.pos}

    def close(self) -> None:
        pass


def pipeline_only_rate(n: int, workdir: Path) -> float:
    """Messages/s through decode, scoring, rules and the SQLite store, with no broker or network:
    the pipeline's own ceiling on this machine."""
    tags = bench_tags()
    t0 = time.time()
    src = _Payloads([payload(t0 + i * 1e-4, i) for i in range(n)], set(tags))
    pipe = bench_pipeline(src, tags, workdir, f"only-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    while pipe.stats_.stored < n * len(TAGS):
        pipe.step()
    elapsed = time.perf_counter() - start
    pipe.close()
    return n / elapsed


def run_bench(
    broker: str = "",
    messages: int = 100_000,
    latency_rate: float = 5000.0,
    latency_messages: int = 25_000,
    timeout: float = 300.0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """The figures of ``aion line bench --json``."""
    from aion.line.broker import EmbeddedBroker

    emb = None
    if not broker:
        emb = EmbeddedBroker().start()
        url = emb.url
    else:
        url = broker
    report = progress or (lambda s, f: None)
    try:
        with tempfile.TemporaryDirectory(prefix="aion-line-bench-") as tmp:
            report("bare subscriber", 0.0)
            bare = bare_rate(url, messages, timeout)
            report("pipeline, full speed", 0.33)
            fast = pipeline_run(url, messages, 0.0, timeout, Path(tmp))
            report(f"pipeline, {latency_rate:g} msg/s", 0.66)
            paced = pipeline_run(url, min(messages, latency_messages), latency_rate, timeout, Path(tmp))
            report("pipeline without broker", 0.85)
            only = pipeline_only_rate(messages, Path(tmp))
            report("paho subscriber", 0.95)
            paho, paho_got = paho_bare_rate(url, messages, timeout)
            report("done", 1.0)
    finally:
        if emb is not None:
            emb.stop()
    return {
        "broker": "embedded (amqtt)" if emb else url,
        "messages": messages,
        "readings_per_message": len(TAGS),
        "messages_per_second": round(fast["messages_per_second"], 1),
        "readings_per_second": round(fast["messages_per_second"] * len(TAGS), 1),
        "p50_ms": round(paced["p50_ms"], 2),
        "p99_ms": round(paced["p99_ms"], 2),
        "latency_rate_messages_per_second": latency_rate,
        "full_speed_p50_ms": round(fast["p50_ms"], 2),
        "full_speed_p99_ms": round(fast["p99_ms"], 2),
        "lost": fast["lost"] + paced["lost"],
        "duplicated": fast["duplicated"] + paced["duplicated"],
        "broker_only_messages_per_second": round(bare, 1),
        "pipeline_only_messages_per_second": round(only, 1),
        "paho_bare_messages_per_second": round(paho, 1),
        "paho_bare_received": paho_got,
    }
