"""The process pages' root exception (messages are English catalog ids, shown in Korean or English)."""

from __future__ import annotations

from aion.platform.errors import PlatformError


class ProcessWebError(PlatformError):
    """Bad input on the process pages: a clear message, nothing stored is lost."""
