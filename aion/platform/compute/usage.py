"""Monthly CPU/GPU usage per company, split at UTC month boundaries.

A finished (or preempted) attempt adds ``cpus x seconds`` and ``gpus x seconds`` to the months
it ran in. Running attempts are not in the ledger yet; quota checks add their expected usage on
top (see :class:`~aion.platform.compute.scheduler.FairShareScheduler`).

>>> led = UsageLedger()
>>> pieces = led.add("acme", start=0.0, end=7200.0, cpus=2, gpus=0)
>>> led.used("acme", "1970-01")
(14400.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from aion.platform.compute.policy import month_bounds, month_key


class UsageRecord(NamedTuple):
    """Resource seconds one company used in one month."""

    company_id: str
    month: str
    cpu_seconds: float
    gpu_seconds: float


class UsageLedger:
    """In-memory totals, optionally seeded from persisted records on start."""

    def __init__(self, records: Iterable[UsageRecord] = ()) -> None:
        self.records = list(records)
        self.totals_: dict[tuple[str, str], list[float]] = {}
        for r in self.records:
            self._bump(r)

    def _bump(self, r: UsageRecord) -> None:
        cell = self.totals_.setdefault((r.company_id, r.month), [0.0, 0.0])
        cell[0] += r.cpu_seconds
        cell[1] += r.gpu_seconds

    def add(self, company_id: str, start: float, end: float, cpus: float, gpus: float) -> list[UsageRecord]:
        """Record one attempt that ran from ``start`` to ``end``; returns the per-month pieces."""
        pieces: list[UsageRecord] = []
        t = start
        while t < end:
            _, month_end = month_bounds(t)
            stop = min(end, month_end)
            secs = stop - t
            pieces.append(UsageRecord(company_id, month_key(t), cpus * secs, gpus * secs))
            t = stop
        for p in pieces:
            self._bump(p)
        return pieces

    def used(self, company_id: str, month: str) -> tuple[float, float]:
        """``(cpu_seconds, gpu_seconds)`` recorded for the company in the month."""
        cell = self.totals_.get((company_id, month))
        return (cell[0], cell[1]) if cell else (0.0, 0.0)

    def month_totals(self, month: str) -> dict[str, tuple[float, float]]:
        """All companies' usage in one month."""
        return {c: (v[0], v[1]) for (c, m), v in self.totals_.items() if m == month}
