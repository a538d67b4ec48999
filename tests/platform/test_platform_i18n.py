"""Every message the platform shows (templates, errors, labels) has a Korean translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aion.i18n import translations
from aion.platform import jobkinds, web
from aion.web.nav import NAV

PLATFORM = Path(web.__file__).resolve().parent
CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
RAISERS = {"PlatformError", "ValidationFailed", "QuotaExceeded", "PermissionDenied", "gettext"}


def used_ids() -> set[str]:
    ids: set[str] = set()
    for path in PLATFORM.rglob("*.html"):
        ids |= {m.group(1) or m.group(2) for m in CALL.finditer(path.read_text(encoding="utf-8"))}
    for path in PLATFORM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RAISERS:
                ids |= {
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value[:1].isupper()
                }
    ids |= set(web.KIND_LABELS.values()) | {k.title for k in jobkinds.kinds_for("inspection_images")}
    ids |= {i.msgid for i in NAV if i.href.startswith(("/datasets", "/jobs", "/models", "/compute"))}
    ids |= {"queued", "running", "succeeded", "failed", "cancelled", "promote", "rollback"}
    return ids


def test_every_platform_message_is_translated() -> None:
    ko = translations("ko")
    ids = used_ids()
    assert len(ids) > 100
    missing = sorted(m for m in ids if ko.gettext(m) == m)
    assert not missing, f"add to aion/locale/ko/LC_MESSAGES/platform.po: {missing}"
