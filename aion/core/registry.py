"""Imports every domain's ORM module so that ``Base.metadata`` knows all tables."""

from __future__ import annotations

import importlib

MODEL_MODULES: tuple[str, ...] = (
    "aion.core.audit",
    "aion.accounts.models",
    "aion.platform.models",
    "aion.line.models",
    "aion.program.models",
)


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
