"""The line's MQTT wire client: packet framing on any split, and sessions against real brokers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from aion.line.broker import free_port
from aion.line.mqttwire import (
    ConnectOptions,
    Message,
    WireClient,
    WireError,
    decode_varint,
    encode_varint,
    parse_packets,
    puback_packets,
    publish_packet,
)


@pytest.mark.parametrize("n", [0, 127, 128, 16_383, 16_384, 2_097_151, 268_435_455])
def test_varint_round_trips_at_every_width(n: int) -> None:
    raw = encode_varint(n)
    assert decode_varint(raw, 0) == (n, len(raw))
    assert decode_varint(raw[:-1], 0)[0] == -1  # cut short: incomplete, not a wrong value


def test_varint_longer_than_four_bytes_is_refused() -> None:
    with pytest.raises(WireError):
        decode_varint(b"\xff\xff\xff\xff\x01", 0)


@pytest.mark.parametrize("v5", [False, True])
def test_packets_split_anywhere_come_out_whole_and_in_order(v5: bool) -> None:
    stream = b"".join(
        [
            publish_packet("a/1", b'{"x": 1}', qos=1, mid=1, v5=v5),
            b"\xd0\x00",  # PINGRESP between messages
            publish_packet("b/2", b"y" * 300, qos=0, v5=v5),  # two-byte remaining length
            publish_packet("a/1", b"", qos=1, mid=65535, v5=v5),
        ]
    )
    for cut in range(len(stream) + 1):
        buf = bytearray(stream[:cut])
        msgs, others, used = parse_packets(buf, v5)
        del buf[:used]
        buf += stream[cut:]
        more, others2, used2 = parse_packets(buf, v5)
        assert used2 == len(buf)
        assert [(m.topic, m.mid, m.qos, len(m.payload)) for m in msgs + more] == [
            ("a/1", 1, 1, 8),
            ("b/2", 0, 0, 300),
            ("a/1", 65535, 1, 0),
        ], cut
        assert [k for k, _ in others + others2] == [13]


def test_mqtt5_publish_properties_are_skipped_not_taken_for_payload() -> None:
    props = b"\x01\x01" + b"\x03\x00\x10application/json"  # payload format + content type
    body = b"\x00\x03a/b" + b"\x00\x07" + encode_varint(len(props)) + props + b"PAYLOAD"
    pkt = bytes([0x32]) + encode_varint(len(body)) + body
    msgs, _, _ = parse_packets(pkt, v5=True)
    assert msgs == [Message("a/b", b"PAYLOAD", 7, 1, False)]


def test_pubacks_are_one_write_for_many_ids() -> None:
    assert puback_packets([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"


def test_nothing_listening_is_a_clear_error() -> None:
    port = free_port()
    c = WireClient(ConnectOptions("127.0.0.1", port, "x", timeout_s=1.0))
    with pytest.raises(WireError, match=f"127.0.0.1:{port}"):
        c.connect()


@pytest.mark.parametrize("v5", [False, True])
def test_persistent_session_keeps_unacked_and_offline_messages(system_mosquitto: str, v5: bool) -> None:
    """Unacknowledged messages come back on reconnect (marked dup), with those published while
    we were away; acknowledged ones do not."""
    cid, topic = f"wire-{uuid.uuid4().hex[:8]}", f"wire/{uuid.uuid4().hex[:8]}"
    opts = ConnectOptions("127.0.0.1", 1883, cid, clean=False, v5=v5, session_expiry_s=60)
    pub = WireClient(ConnectOptions("127.0.0.1", 1883, f"p-{cid}", clean=True, v5=False))
    pub.connect()

    def publish(seqs: range) -> None:
        pub.send_raw(b"".join(publish_packet(topic, json.dumps({"seq": i}).encode(), 1, i + 1) for i in seqs))

    sub = WireClient(opts)
    sub.connect()
    assert sub.subscribe([(topic, 1)]) == []
    publish(range(0, 10))
    got: list[Message] = []
    deadline = time.monotonic() + 10
    while len(got) < 10 and time.monotonic() < deadline:
        got.extend(sub.read(0.2)[0])
    assert [json.loads(m.payload)["seq"] for m in got] == list(range(10))
    sub.ack(m.mid for m in got[:5])  # 5..9 stay unacknowledged
    time.sleep(0.2)
    sub.disconnect()
    publish(range(10, 15))  # while we are away
    time.sleep(0.3)

    again = WireClient(opts)
    assert again.connect() is True  # the broker kept the session
    back = again.subscribe([(topic, 1)])
    deadline = time.monotonic() + 10
    while len(back) < 10 and time.monotonic() < deadline:
        back.extend(again.read(0.2)[0])
    seqs = [json.loads(m.payload)["seq"] for m in back]
    assert sorted(seqs) == list(range(5, 15))
    assert all(m.dup for m in back if json.loads(m.payload)["seq"] < 10)
    again.ack(m.mid for m in back)
    again.disconnect()
    pub.disconnect()
    clean = WireClient(ConnectOptions("127.0.0.1", 1883, cid, clean=True, v5=v5))  # drop the session
    assert clean.connect() is False
    clean.disconnect()


def test_broker_killed_raises_instead_of_hanging(own_mosquitto) -> None:  # type: ignore[no-untyped-def]
    c = WireClient(ConnectOptions("127.0.0.1", own_mosquitto.port, "k", keepalive=2))
    c.connect()
    c.subscribe([("k/#", 1)])
    own_mosquitto.stop()
    with pytest.raises(WireError):
        for _ in range(50):
            c.read(0.1)
    c.close()


def test_line_bench_json_counts_every_message(embedded_broker) -> None:  # type: ignore[no-untyped-def]
    """``aion line bench --json`` on a small run: one object, the documented keys, nothing lost."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aion",
            "line",
            "bench",
            "--broker",
            embedded_broker.url,
            "--messages",
            "400",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    for key in (
        "messages_per_second",
        "readings_per_second",
        "p50_ms",
        "p99_ms",
        "broker_only_messages_per_second",
    ):
        assert doc[key] > 0, key
    assert doc["readings_per_second"] == pytest.approx(doc["messages_per_second"] * 8, rel=0.01)
    assert (doc["lost"], doc["duplicated"]) == (0, 0)


def test_parse_stops_at_max_messages_and_says_where() -> None:
    stream = b"".join(publish_packet("t", bytes([i]), qos=1, mid=i + 1) for i in range(5))
    msgs, _, used = parse_packets(stream, v5=False, max_messages=2)
    assert [m.mid for m in msgs] == [1, 2]
    rest, _, _ = parse_packets(stream[used:], v5=False)
    assert [m.mid for m in rest] == [3, 4, 5]


def test_reads_take_at_most_max_messages_whatever_the_broker_sent(system_mosquitto: str) -> None:
    """The connector's memory bound does not depend on the broker honouring receive maximum."""
    topic = f"wire/{uuid.uuid4().hex[:8]}"
    sub = WireClient(
        ConnectOptions("127.0.0.1", 1883, f"m-{uuid.uuid4().hex[:8]}", clean=True, receive_maximum=1000)
    )
    sub.connect()
    sub.subscribe([(topic, 1)])
    pub = WireClient(ConnectOptions("127.0.0.1", 1883, f"mp-{uuid.uuid4().hex[:8]}", clean=True, v5=False))
    pub.connect()
    pub.send_raw(b"".join(publish_packet(topic, str(i).encode(), 1, i + 1) for i in range(300)))
    time.sleep(0.5)  # all of it is on its way to the subscriber
    got: list[Message] = []
    sizes = []
    deadline = time.monotonic() + 10
    while len(got) < 300 and time.monotonic() < deadline:
        msgs, _ = sub.read(0.2, max_messages=40)
        sizes.append(len(msgs))
        got.extend(msgs)
    assert max(sizes) <= 40 and len(got) == 300
    assert [int(m.payload) for m in got] == list(range(300))
    sub.ack(m.mid for m in got)
    sub.disconnect()
    pub.disconnect()
