"""Per-company quotas and weights, and the nodes of the shared cluster.

>>> p = CompanyPolicy(weight=2.0, quota=Quota(max_concurrent_jobs=3, gpu_hours_per_month=0))
>>> p.quota.allows_gpus
False
>>> Node("n1", cpus=16, gpus=2).fits(cpus=4, gpus=1)
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aion.platform.compute.errors import ComputeError


@dataclass(frozen=True)
class Quota:
    """Limits for one company. ``None`` means unlimited.

    CPU and GPU hours are per calendar month in UTC; see
    :class:`~aion.platform.compute.usage.UsageLedger` for how usage is counted.
    """

    max_concurrent_jobs: int | None = None
    cpu_hours_per_month: float | None = None
    gpu_hours_per_month: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_concurrent_jobs", "cpu_hours_per_month", "gpu_hours_per_month"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ComputeError(
                    f"쿼터는 음수일 수 없음: {name}={value} / Quota must be >= 0: {name}={value}"
                )

    @property
    def allows_gpus(self) -> bool:
        return self.gpu_hours_per_month is None or self.gpu_hours_per_month > 0


@dataclass(frozen=True)
class CompanyPolicy:
    """A company's fair-share weight and quota."""

    weight: float = 1.0
    quota: Quota = Quota()

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ComputeError(
                f"가중치는 양수여야 함: {self.weight} / Fair-share weight must be positive: {self.weight}"
            )


DEFAULT_POLICY = CompanyPolicy()


@dataclass(frozen=True)
class Node:
    """A machine of the cluster with its total schedulable resources."""

    name: str
    cpus: float
    gpus: float = 0.0

    def fits(self, cpus: float, gpus: float) -> bool:
        """Whether a job of this size could ever run here (ignores current load)."""
        return cpus <= self.cpus + 1e-9 and gpus <= self.gpus + 1e-9


def month_key(ts: float) -> str:
    """UTC calendar month ``YYYY-MM`` of a POSIX timestamp.

    >>> month_key(0.0)
    '1970-01'
    """
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m")


def month_bounds(ts: float) -> tuple[float, float]:
    """Start and end (exclusive) POSIX timestamps of the UTC month containing ``ts``."""
    d = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    start = dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=dt.UTC)
    return start.timestamp(), end.timestamp()
