"""Every message the process pages show (templates, errors, nav, job kind) has a Korean translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aion.i18n import translations
from aion.process import kind, web

PROCESS = Path(web.__file__).resolve().parent
CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
RAISERS = {"ProcessWebError", "PlatformError", "gettext"}


def used_ids() -> set[str]:
    ids: set[str] = set()
    for path in PROCESS.rglob("*.html"):
        ids |= {m.group(1) or m.group(2) for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    for path in PROCESS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RAISERS:
                ids |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    return ids | {"Process monitoring", kind.KIND_TITLE}


def test_every_process_message_is_translated() -> None:
    ko = translations("ko")
    ids = used_ids()
    assert len(ids) > 40
    missing = sorted(m for m in ids if ko.gettext(m) == m)
    assert not missing, f"add to aion/locale/ko/LC_MESSAGES/processweb.po: {missing}"
