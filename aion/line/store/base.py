"""The time-series store contract: idempotent writes, downsampled reads, retention.

A reading's identity is ``(tag, ts in microseconds, seq)``; writing the same reading twice
stores it once, which with at-least-once delivery gives exactly-once storage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from aion.line.model import Alarm, Attached, AuditRecord, Reject, Scored


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
        """Store readings with their scores (and the attachment of those that have one, e.g. a
        camera photo's path); returns how many were new. Raises StoreUnavailable."""

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
    def tally(self, tag: str, start: float, end: float, at_least: float) -> tuple[int, int]:
        """Readings of ``tag`` in ``[start, end)`` and how many of them are ``>= at_least`` (an
        inspection station's photos and its NG calls), counted by the store."""

    @abstractmethod
    def attachments(
        self, tag: str, limit: int = 50, before: tuple[int, int] | None = None, min_value: float | None = None
    ) -> list[Attached]:
        """Readings of ``tag`` that carry an attachment, newest first: at most ``limit``, older than
        ``before`` (``(ts_us, seq)`` of the last one of the previous page), valued at least
        ``min_value`` (an inspection station's NG photos: ``0.5``)."""

    @abstractmethod
    def attachment(self, tag: str, ts_us: int, seq: int) -> Attached | None:
        """One reading of ``tag`` with its attachment, or ``None``."""

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
        """Delete readings (and their attachments' records) older than ``before`` (Unix seconds);
        returns how many readings."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be used."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
