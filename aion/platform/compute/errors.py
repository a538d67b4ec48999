"""The root exception of the compute domain and its few specialisations."""

from __future__ import annotations

from aion.errors import AionError


class ComputeError(AionError):
    """Base of every error raised by :mod:`aion.platform.compute`."""


class JobNotFoundError(ComputeError):
    """No job with the given id exists in the store."""


class InvalidTransitionError(ComputeError):
    """A job was asked to move between states in a way the state machine forbids."""


class QuotaError(ComputeError):
    """A job can never run under its company's quota (e.g. it asks for GPUs with a zero GPU quota)."""


class ExecutorError(ComputeError):
    """An executor could not start, query or stop a job."""
