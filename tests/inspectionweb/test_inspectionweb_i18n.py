"""Every message of the inspection pages (templates and errors) has a Korean translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aion.i18n import translations
from aion.inspectionweb import web

ROOT = Path(web.__file__).resolve().parent
CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def used_ids() -> set[str]:
    ids: set[str] = set()
    for path in ROOT.rglob("*.html"):
        ids |= {m.group(1) or m.group(2) for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    for path in ROOT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "InspectionWebError":
                ids |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    return ids


def test_every_inspection_page_message_is_translated() -> None:
    ko = translations("ko")
    ids = used_ids()
    assert len(ids) > 30
    missing = sorted(m for m in ids if ko.gettext(m) == m)
    assert not missing, missing
