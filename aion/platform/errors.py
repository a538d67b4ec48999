"""The root exception of the platform domain (data sets, jobs, model registry)."""

from __future__ import annotations

from aion.errors import AionError
from aion.i18n import LocalizedError


class PlatformError(LocalizedError, AionError):
    """Root of the platform's errors; the message is a catalog id shown in the reader's language."""


class ValidationFailed(PlatformError):
    """An upload was refused; ``problems`` lists every file and what is wrong with it."""

    def __init__(self, msgid: str, problems: list[dict[str, str]] | None = None, **params: object) -> None:
        super().__init__(msgid, **params)
        self.problems = problems or []


class QuotaExceeded(PlatformError):
    """The company's storage or compute quota would be exceeded."""
