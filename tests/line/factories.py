"""Test data made through the real services: the foundation's two-company world."""

from __future__ import annotations

from tests.foundation.factories import PASSWORD, World, make_world

__all__ = ["PASSWORD", "World", "make_world"]
