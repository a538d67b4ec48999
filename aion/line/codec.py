"""JSON payloads to readings, with every refusal counted and explained.

Accepted shapes (``ts`` is Unix seconds, milliseconds, or ISO 8601; ``seq`` is optional)::

    {"ts": 1700000000.5, "seq": 3, "values": {"flow": 12.1, "temp": 40}}
    {"ts": 1700000000.5, "flow": 12.1, "temp": 40}
    {"tag": "flow", "ts": 1700000000.5, "value": 12.1}
    [ ...any of the above... ]

Tag names are prefixed with the machine when one is known (from the topic or the route).

>>> d = PayloadDecoder(known_tags={"p.flow", "p.bad"})
>>> b = d.decode(b'{"ts": 1700000000, "values": {"flow": 1.5, "bad": "x", "zz": 2}}', machine="p", source="t")
>>> [(r.tag, r.value) for r in b.readings], sorted(j.reason for j in b.rejects)
([('p.flow', 1.5)], ['unknown_tag', 'wrong_type'])
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from aion.line.model import Batch, Reading, Reject, build

RESERVED = {"ts", "seq", "tag", "value", "values", "machine"}
MAX_PAYLOAD_BYTES = 256 * 1024


def parse_ts(raw: Any, now: float) -> float | None:
    """Unix seconds from seconds, milliseconds (> 1e11) or ISO 8601; ``now`` when absent."""
    if raw is None:
        return now
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        t = float(raw)
        if not math.isfinite(t) or t < 0:
            return None
        return t / 1000.0 if t > 1e11 else t
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


class PayloadDecoder:
    """Decodes JSON payloads; ``known_tags`` empty means every numeric field is accepted."""

    def __init__(self, known_tags: Iterable[str] = (), max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        self.known_tags = set(known_tags)
        self.max_bytes = max_bytes
        self._tags: dict[str, dict[str, str]] = {}  # machine -> field name -> tag name

    def _reject(self, out: Batch, source: str, reason: str, detail: str, payload: Any) -> None:
        if isinstance(payload, bytes):  # the quarantined excerpt, made only for refusals
            text = payload[:300].decode("utf-8", "replace")
        else:
            text = payload if isinstance(payload, str) else repr(payload)
        out.rejects.append(Reject(source, reason, detail, text[:300], time.time()))

    def _value(self, out: Batch, tag: str, raw: Any, ts: float, seq: int, source: str, text: Any) -> None:
        # the quarantined payload is the whole message (an excerpt), the detail names the field
        if self.known_tags and tag not in self.known_tags:
            self._reject(out, source, "unknown_tag", tag, text)
            return
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self._reject(out, source, "wrong_type", f"{tag}: {type(raw).__name__} {raw!r:.60}", text)
            return
        v = float(raw)
        if not math.isfinite(v):
            self._reject(out, source, "nan", f"{tag}: {raw!r}", text)
            return
        out.readings.append(Reading(tag, ts, v, seq, source))

    def _tag(self, machine: str, name: str) -> str:
        names = self._tags.get(machine)
        if names is None:
            names = self._tags[machine] = {}
        tag = names.get(name)
        if tag is None:
            if len(names) > 10_000:  # a source inventing names must not grow memory
                names.clear()
            tag = names[name] = f"{machine}.{name}" if machine else str(name)
        return tag

    def _object(self, out: Batch, obj: Any, machine: str, source: str, now: float, text: Any) -> None:
        if not isinstance(obj, dict):
            self._reject(out, source, "not_object", type(obj).__name__, text)
            return
        raw_ts = obj.get("ts")
        if type(raw_ts) is float and 0 <= raw_ts < 1e11:  # the common case: Unix seconds
            ts: float = raw_ts
        else:
            parsed = parse_ts(raw_ts, now)
            if parsed is None:
                self._reject(out, source, "bad_timestamp", repr(raw_ts)[:80], text)
                return
            ts = parsed
        seq_raw = obj.get("seq", 0)
        if type(seq_raw) is not int:
            self._reject(out, source, "wrong_type", f"seq: {type(seq_raw).__name__}", text)
            return
        m = str(obj.get("machine", machine))
        if "tag" in obj:
            self._value(out, self._tag(m, str(obj["tag"])), obj.get("value"), ts, seq_raw, source, text)
            return
        values = obj.get("values")
        if values is None:
            values = {k: v for k, v in obj.items() if k not in RESERVED}
        if not isinstance(values, dict):
            self._reject(out, source, "not_object", "values", text)
            return
        known = self.known_tags
        names = self._tags.get(m) or {}
        append = out.readings.append
        isfinite = math.isfinite
        for name, raw in values.items():
            tag = names.get(name) or self._tag(m, name)
            kind = type(raw)
            # the common case inline (a float or int of a known tag); everything else explains itself
            if (kind is float or kind is int) and (not known or tag in known) and isfinite(raw):
                append(build(Reading, (tag, ts, float(raw), seq_raw, source, "")))
            else:
                self._value(out, tag, raw, ts, seq_raw, source, text)

    def decode(
        self, payload: bytes | str, machine: str = "", source: str = "", now: float | None = None
    ) -> Batch:
        """Decode one payload; never raises for bad input, it returns rejects instead."""
        out = Batch()
        self.decode_into(out, payload, machine, source, now)
        return out

    def decode_into(
        self, out: Batch, payload: bytes | str, machine: str = "", source: str = "", now: float | None = None
    ) -> None:
        """Append one payload's readings and rejects to ``out`` (many payloads, one batch)."""
        if len(payload) > self.max_bytes:
            self._reject(out, source, "oversized", f"{len(payload)} > {self.max_bytes} bytes", payload[:300])
            return
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            try:  # the standard parser: its message names the error, and it reads NaN (refused below)
                doc = json.loads(payload.decode("utf-8") if isinstance(payload, bytes) else payload)
            except (ValueError, UnicodeDecodeError) as e:
                self._reject(out, source, "bad_json", str(e)[:120], payload)
                return
        t = time.time() if now is None else now
        for obj in doc if isinstance(doc, list) else [doc]:
            self._object(out, obj, machine, source, t, payload)
