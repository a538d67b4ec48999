"""The one interface every executor implements."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field

from aion.platform.compute.jobs import Job
from aion.platform.compute.policy import Node


class RunState(enum.StrEnum):
    """What an executor knows about one run (one attempt of a job)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"  # the executor no longer knows the run (process or actor gone without a result)

    @property
    def is_final(self) -> bool:
        return self is not RunState.RUNNING


@dataclass
class RunStatus:
    state: RunState
    progress: float = 0.0
    message: str = ""
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


class Executor(ABC):
    """Runs attempts of jobs; a *handle* (a string) names one attempt and survives restarts."""

    @abstractmethod
    def nodes(self) -> list[Node]:
        """The machines and their total resources."""

    @abstractmethod
    def submit(self, job: Job) -> str:
        """Start one attempt of ``job`` on ``job.node``; returns its handle."""

    @abstractmethod
    def poll(self, handle: str) -> RunStatus:
        """Current state, progress and (when final) metrics or error of a run."""

    @abstractmethod
    def cancel(self, handle: str) -> None:
        """Ask the run to stop; a later :meth:`poll` reports it cancelled."""

    @abstractmethod
    def logs(self, handle: str, since: int = 0) -> list[str]:
        """Log lines of the run from line number ``since`` on."""

    def release(self, handle: str) -> None:  # noqa: B027 - optional hook
        """Free what the executor keeps for a finished run (logs may go with it)."""

    def reconcile(self, handles: Iterable[str]) -> dict[str, RunStatus]:
        """After a restart: the state of runs the store believes are running."""
        return {h: self.poll(h) for h in handles}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop talking to the backend (running jobs keep running)."""
