"""Which tests run on the local Ray cluster (one cluster per run; see ``tests/conftest.py``)."""

from __future__ import annotations

import pytest


def on_ray(item: pytest.Item | None) -> bool:
    """A test on the local Ray cluster: its ``ray`` parameter, or the cluster fixture."""
    if item is None:
        return False
    ids = getattr(getattr(item, "callspec", None), "id", "").split("-")
    return "ray" in ids or "ray_cluster" in getattr(item, "fixturenames", ())
