"""Every message id the UI uses has a Korean translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aion.i18n import translations
from aion.web import nav, templating

AION = Path(templating.__file__).resolve().parent.parent
TEMPLATE_CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
LOCALIZED_RAISERS = {"AccountsError", "PermissionDenied"}


def _template_ids() -> set[str]:
    ids = set()
    for path in AION.rglob("*.html"):
        for m in TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            ids.add(m.group(1) or m.group(2))
    return ids


def _python_ids() -> set[str]:
    ids: set[str] = set()
    for path in (AION / "accounts").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in LOCALIZED_RAISERS | {"gettext", "_error"}
            ):
                for arg in node.args:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and arg.value[:1].isupper()
                    ):
                        ids.add(arg.value)
    ids |= set(templating.FLASH.values()) | set(templating.ROLE_LABELS.values())
    ids |= set(templating.SIZE_LABELS.values()) | set(templating.METRIC_LABELS.values())
    ids |= set(templating.JOB_STAGES.values()) | set(templating.MODEL_KINDS.values())
    ids |= set(templating.AUDIT_ACTIONS.values())
    ids |= {item.msgid for item in nav.NAV}
    return ids


def test_all_ui_messages_are_translated() -> None:
    ko = translations("ko")
    used = _template_ids() | _python_ids()
    assert len(used) > 80
    missing = sorted(m for m in used if ko.gettext(m) == m and m != "AI-on")
    assert not missing, f"add Korean translations to a catalog in aion/locale/ko/LC_MESSAGES/: {missing}"


def test_catalogs_agree_on_shared_message_ids() -> None:
    """Each domain has its own catalog; one English id must read the same in all of them
    (the merged catalog keeps only one: a second wording would silently win or lose)."""
    from babel.messages.pofile import read_po

    from aion.i18n import LOCALE_DIR

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((LOCALE_DIR / "ko" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f, locale="ko"):
                if not m.id or not m.string:
                    continue
                first = seen.setdefault(str(m.id), (po.name, str(m.string)))
                if first[1] != m.string:
                    clashes.append(f"{m.id!r}: {first} vs {(po.name, m.string)}")
    assert len(seen) > 300
    assert not clashes, "use one wording, or a more specific English id: " + "; ".join(clashes)
