"""Typed job carriers: what to run (:class:`JobSpec`) and what happened to it (:class:`Job`).

A job moves through a small state machine::

    queued -> running -> succeeded | failed | cancelled
    queued -> cancelled
    running -> queued          (preempted, lost on restart, or failed with retries left)

>>> spec = JobSpec(company_id="acme", kind=JobKind.TRAIN, cpus=2, estimated_seconds=600)
>>> job = Job(id="j1", spec=spec, submitted_at=0.0)
>>> job.state.value, job.state.is_final
('queued', False)
>>> round(spec.cpu_hours, 3)
0.333
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aion.platform.compute.errors import ComputeError, InvalidTransitionError


class JobKind(enum.StrEnum):
    """What the job does; used for display and per-kind defaults, not by the scheduler."""

    TRAIN = "train"
    EVALUATE = "evaluate"
    SCORE = "score"
    OTHER = "other"


class JobState(enum.StrEnum):
    """Lifecycle state of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED, JobState.RUNNING}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def check_transition(old: JobState, new: JobState) -> None:
    """Raise :class:`InvalidTransitionError` unless ``old -> new`` is allowed."""
    if new not in _ALLOWED[old]:
        valid = ", ".join(sorted(s.value for s in _ALLOWED[old])) or "none (final state)"
        raise InvalidTransitionError(
            f"작업 상태를 바꿀 수 없음: {old.value} -> {new.value} (가능: {valid}) / "
            f"Invalid job transition: {old.value} -> {new.value} (valid: {valid})"
        )


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to queue and run a job.

    ``entrypoint`` is ``"module:function"``; the function is called as
    ``function(ctx, **params)`` with a :class:`~aion.platform.compute.context.JobContext` and may
    return a mapping of final metrics. ``priority`` is an integer; higher runs first across all
    companies (the web layer decides who may set what), fair share orders jobs of equal priority.
    ``demo`` marks the program's demonstration jobs, which may preempt running ``preemptible``
    non-demo work.
    """

    company_id: str
    kind: JobKind = JobKind.OTHER
    priority: int = 0
    cpus: float = 1.0
    gpus: float = 0.0
    estimated_seconds: float = 3600.0
    preemptible: bool = True
    demo: bool = False
    max_retries: int = 0
    entrypoint: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not self.company_id:
            raise ComputeError("회사 ID가 비어 있음 / company_id is empty")
        if self.cpus <= 0 or self.gpus < 0:
            raise ComputeError(
                f"잘못된 자원 요청: cpus={self.cpus}, gpus={self.gpus} (cpus > 0, gpus >= 0) / "
                f"Invalid resources: cpus={self.cpus}, gpus={self.gpus} (need cpus > 0, gpus >= 0)"
            )
        if self.estimated_seconds <= 0:
            raise ComputeError(
                f"예상 시간은 양수여야 함: {self.estimated_seconds} / "
                f"estimated_seconds must be positive: {self.estimated_seconds}"
            )
        if self.max_retries < 0:
            raise ComputeError(f"max_retries must be >= 0: {self.max_retries}")

    @property
    def cpu_hours(self) -> float:
        """Estimated CPU hours of one attempt."""
        return self.cpus * self.estimated_seconds / 3600.0

    @property
    def gpu_hours(self) -> float:
        """Estimated GPU hours of one attempt."""
        return self.gpus * self.estimated_seconds / 3600.0

    @property
    def rank(self) -> tuple[bool, int]:
        """Cross-company ordering key: demo jobs first, then higher priority."""
        return (self.demo, self.priority)


@dataclass
class Job:
    """One job and its mutable run state (a store persists exactly these fields)."""

    id: str
    spec: JobSpec
    submitted_at: float
    state: JobState = JobState.QUEUED
    attempts: int = 0
    failures: int = 0
    preemptions: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    not_before: float = 0.0
    node: str | None = None
    handle: str | None = None
    progress: float = 0.0
    message: str = ""
    error: str = ""
    cancel_requested: bool = False
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    def move(self, new: JobState) -> None:
        """Change state after checking the transition."""
        check_transition(self.state, new)
        self.state = new

    @property
    def company_id(self) -> str:
        return self.spec.company_id
