"""The time-series store contract: idempotent writes, downsampled reads, retention.

A reading's identity is ``(tag, ts in microseconds, seq)``; writing the same reading twice
stores it once, which with at-least-once delivery gives exactly-once storage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from aion.line.model import Alarm, AuditRecord, Reject, Scored


class Point(NamedTuple):
    """One point of a (possibly downsampled) series: bucket start, mean, min, max, count."""

    ts: float
    value: float
    min: float
    max: float
    n: int


class Latest(NamedTuple):
    ts: float
    value: float
    score: float


class TimeSeriesStore(ABC):
    """Base of the stores; every one passes ``tests/line/test_store.py``."""

    @abstractmethod
    def write(self, scored: Sequence[Scored]) -> int:
        """Store readings with their scores; returns how many were new. Raises StoreUnavailable."""

    @abstractmethod
    def write_rejects(self, rejects: Sequence[Reject]) -> None:
        """Quarantine refused payloads with their reason."""

    @abstractmethod
    def save_alarm(self, alarm: Alarm) -> None:
        """Insert or update an alarm (by id)."""

    @abstractmethod
    def ack_alarm(self, alarm_id: str, user: str, at: float) -> bool:
        """A person acknowledged an alarm; False when unknown or already acknowledged."""

    @abstractmethod
    def alarms(self, line: str = "", active_only: bool = False, limit: int = 1000) -> list[Alarm]:
        """Alarms, newest first."""

    @abstractmethod
    def write_audit(self, record: AuditRecord) -> None:
        """Append a write-back audit record."""

    @abstractmethod
    def audit(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records, newest first."""

    @abstractmethod
    def query(self, tag: str, start: float, end: float, bucket_s: float = 0.0) -> list[Point]:
        """Points of ``tag`` in ``[start, end)``; ``bucket_s`` > 0 downsamples to that width."""

    @abstractmethod
    def latest(self) -> dict[str, Latest]:
        """The newest value of every tag."""

    @abstractmethod
    def count(self, tag: str = "") -> int:
        """Stored readings (of one tag, or all)."""

    @abstractmethod
    def distinct_count(self) -> int:
        """Distinct (tag, sequence number) pairs stored: equal to :meth:`count` unless a reading
        was stored twice under two timestamps (a duplicate delivery)."""

    @abstractmethod
    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined payloads by reason."""

    @abstractmethod
    def apply_retention(self, before: float) -> int:
        """Delete readings older than ``before`` (Unix seconds); returns how many."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be used."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
