"""The root exception of the process-monitoring domain."""

from __future__ import annotations

from aion.errors import AionError


class ProcessError(AionError):
    """Anything the process-monitoring engine raises on purpose (bad input, bad model file...)."""


class NotFittedError(ProcessError):
    """A detector or model was used before it was trained."""
