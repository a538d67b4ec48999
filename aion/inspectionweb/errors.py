"""The root exception of the inspection pages."""

from __future__ import annotations

from aion.platform.errors import PlatformError


class InspectionWebError(PlatformError):
    """A refused request on the inspection pages; the message is a catalog id (Korean first)."""
