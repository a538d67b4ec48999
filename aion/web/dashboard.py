"""The dashboard's panels: each domain says what a signed-in user should see first.

A domain adds one ``"module:function"`` line to :data:`PANEL_SOURCES`; the function takes the
request's (company-scoped) session and the user, and returns its panels, none when it has nothing
for that role. Panels carry message ids and the user's own names; the dashboard translates the
ids at render time, so a domain's code stays free of languages and templates.

>>> row = PanelRow("브래킷 외관 검사", "/models/1", "v{n} · image AUROC {auroc}", {"n": 2, "auroc": "0.991"})
>>> row.note_params["n"]
2
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

#: Tones a row may have (a CSS class ``tone-<tone>``): "" neutral, "good", "busy", "bad".
TONES = ("", "good", "busy", "bad")


@dataclass(frozen=True)
class PanelRow:
    """One line of a panel: a name the user gave (not translated), its link, a translated note."""

    name: str
    href: str
    note: str = ""  # message id, translated with ``note_params``
    note_params: Mapping[str, Any] = field(default_factory=dict)
    tone: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # further links: (href, message id)

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"unknown tone {self.tone!r}; one of {TONES}")


@dataclass(frozen=True)
class Panel:
    """A card on the dashboard."""

    key: str  # stable id: the card's HTML id is ``panel-<key>``
    title: str  # message id
    rows: tuple[PanelRow, ...] = ()
    empty: str = ""  # message id shown when there are no rows: what to do first
    more: tuple[str, str] | None = None  # (href, message id): the page with everything
    summary: str = ""  # message id above the rows, translated with ``summary_params``
    summary_params: Mapping[str, Any] = field(default_factory=dict)


PanelSource = Callable[[Session, Any], list[Panel]]

#: Where the panels come from, in the order they are shown.
PANEL_SOURCES: list[str] = [
    "aion.program.dashboard:panels",
    "aion.platform.dashboard:panels",
]


def _source(target: str) -> PanelSource:
    module, _, attr = target.partition(":")
    fn: PanelSource = getattr(importlib.import_module(module), attr)
    return fn


def panels_for(session: Session, user: Any) -> list[Panel]:
    """Every domain's panels for ``user``, in :data:`PANEL_SOURCES` order."""
    return [panel for target in PANEL_SOURCES for panel in _source(target)(session, user)]
