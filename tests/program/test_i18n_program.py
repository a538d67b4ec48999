"""Every message of the program pages has a Korean translation; English is one switch away."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from aion.i18n import translations
from aion.program.kpi.outcomes import METRICS
from aion.program.models import APP_STATUSES, SUPPORT_EVENTS, TRACKS
from aion.program.service.support import STATUSES
from aion.program.web.common import NOTICES
from tests.foundation.factories import World

from .conftest import login

TEMPLATES = Path(__file__).resolve().parents[2] / "aion" / "program" / "templates"
CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
# Values shown through _(value) in the templates.
WORDS = {
    *APP_STATUSES,
    *TRACKS,
    *METRICS,
    *SUPPORT_EVENTS,
    *STATUSES,
    "open",
    "closed",
    "upcoming",
    "mean",
    "median",
    "trimmed",
    "selected",
    "reserve",
    "not_selected",
    "below_minimum",
    "pending",
    "declare",
    "excluded",
    "scoring",
    "self",
    "consultant",
    "queued",
    "sent",
    "failed",
    "keep",
    "exclude",
    "rescore",
}


def test_every_program_message_is_translated() -> None:
    ko = translations("ko")
    ids = {m.group(1) or m.group(2) for p in TEMPLATES.rglob("*.html") for m in CALL.finditer(p.read_text())}
    ids |= set(NOTICES.values()) | WORDS | {"Program", "My reviews", "Diagnosis", "KPIs"}
    assert len(ids) > 200
    missing = sorted(i for i in ids if ko.gettext(i) == i)
    assert not missing, missing


def test_pages_switch_to_english(client: TestClient, world: World) -> None:
    login(client, "operator@test.example")
    client.cookies.set("aion_lang", "en")
    page = client.get("/program/calls/new")
    assert "Call code" in page.text and "공고 번호" not in page.text
    client.cookies.set("aion_lang", "ko")
    assert "공고 번호" in client.get("/program/calls/new").text
