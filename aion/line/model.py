"""Typed carriers that cross the pipeline's boundaries.

A :class:`Reading` is one value of one tag at one instant. Its identity, used for idempotent
storage, is ``(tag, ts, seq)``: the timestamp from the source and the source's own sequence
number (0 when the source has none), so a reading delivered twice is stored once.

>>> r = Reading("pump1.flow", 1700000000.25, 12.5, seq=7)
>>> r.key
('pump1.flow', 1700000000250000, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: ``build(Reading, fields)``: a NamedTuple from a tuple of its fields without the class's
#: Python-level ``__new__`` (several times faster); the codec and the pipeline build every
#: reading and scored reading this way on their hot paths.
build = tuple.__new__


class Reading(NamedTuple):
    """One value of one tag. ``ts`` is Unix time in seconds (UTC)."""

    tag: str
    ts: float
    value: float
    seq: int = 0
    source: str = ""
    ref: str = ""  # an attachment, e.g. the image path of a camera reading

    @property
    def ts_us(self) -> int:
        """The timestamp in integer microseconds, the unit the stores key on."""
        return round(self.ts * 1_000_000)

    @property
    def key(self) -> tuple[str, int, int]:
        """The identity used for exactly-once storage."""
        return (self.tag, self.ts_us, self.seq)


class Attached(NamedTuple):
    """A stored reading that carries an attachment (a camera photo's path), as the store gives
    it back: the station's photos with their scores."""

    tag: str
    ts_us: int
    seq: int
    value: float
    score: float
    ref: str

    @property
    def ts(self) -> float:
        return self.ts_us / 1_000_000


class Reject(NamedTuple):
    """A payload, or part of one, that was refused; stored in quarantine with its reason."""

    source: str
    reason: str  # bad_json, not_object, wrong_type, nan, oversized, unknown_tag, bad_timestamp
    detail: str
    payload: str  # truncated to a few hundred characters
    ts: float


class Scored(NamedTuple):
    """A reading with the anomaly score its machine's model (or the rules scorer) gave it."""

    reading: Reading
    score: float


@dataclass
class Batch:
    """What a connector returns from ``next_batch``: readings and refused payloads."""

    readings: list[Reading] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.readings) + len(self.rejects)


@dataclass
class Alarm:
    """One alarm through its lifecycle: raised, then acknowledged and/or cleared."""

    id: str
    line: str
    tag: str
    rule: str  # high, low, rate, score
    severity: str  # warning, critical
    message: str
    value: float
    raised_at: float
    count: int = 1  # violations folded into this alarm (deduplication)
    acked_at: float | None = None
    acked_by: str = ""
    cleared_at: float | None = None

    @property
    def state(self) -> str:
        if self.cleared_at is not None:
            return "cleared"
        return "acknowledged" if self.acked_at is not None else "raised"


class AuditRecord(NamedTuple):
    """A write-back attempt, done, blocked by the interlock, or failed."""

    ts: float
    line: str
    action: str
    target: str
    value: str
    outcome: str  # done, blocked, failed
    detail: str = ""
    alarm_id: str = ""
