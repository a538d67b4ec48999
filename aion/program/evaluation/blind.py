"""Blind review: hide names and identifying fields in views and exports.

Aliases are stable per call (derived from a per-call secret), so an evaluator sees the
same alias everywhere, but they do not reveal the submission order.

>>> policy = BlindPolicy(frozenset({"company_name", "brn", "ceo"}), secret="call-2026-01")
>>> rec = {"company_name": "(주)한빛정밀", "brn": "220-81-62517", "plan": "(주)한빛정밀은 용접 불량을 줄인다"}
>>> out = redact_record(rec, policy, alias="지원자 A")
>>> out["company_name"], out["brn"], out["plan"]
('지원자 A', '●●●', '●●●은 용접 불량을 줄인다')
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aion.program.brn import is_valid_brn
from aion.program.evaluation.conflicts import strip_legal_form

__all__ = ["MASK", "BlindPolicy", "aliases", "redact_record", "redact_rows"]

MASK = "●●●"
_BRN_PATTERN = re.compile(r"\b\d{3}[-\s]?\d{2}[-\s]?\d{5}\b")
_PHONE_PATTERN = re.compile(r"\b0\d{1,2}[-\s.]?\d{3,4}[-\s.]?\d{4}\b")
_EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@dataclass(frozen=True)
class BlindPolicy:
    """Which fields identify an applicant; ``name_field`` shows the alias instead of a mask."""

    identifying_fields: frozenset[str]
    secret: str
    name_field: str = "company_name"
    scrub_free_text: bool = True  # also mask identifying values, BRNs, phones and e-mails inside other text
    keep_fields: frozenset[str] = field(default_factory=frozenset)  # never touched (e.g. the application id)


def aliases(application_ids: Iterable[str], secret: str, prefix: str = "지원자") -> dict[str, str]:
    """Stable aliases 'prefix A', 'prefix B', ... in an order derived from ``secret``.

    >>> a = aliases(["x1", "x2", "x3"], "s")
    >>> sorted(a.values())
    ['지원자 A', '지원자 B', '지원자 C']
    """
    ids = sorted(set(application_ids))
    order = sorted(ids, key=lambda i: hmac.new(secret.encode(), i.encode(), hashlib.sha256).hexdigest())
    return {app_id: f"{prefix} {_letters(n)}" for n, app_id in enumerate(order)}


def _letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    text = _BRN_PATTERN.sub(lambda m: MASK if is_valid_brn(m.group()) else m.group(), text)
    text = _PHONE_PATTERN.sub(MASK, text)
    return _EMAIL_PATTERN.sub(MASK, text)


def redact_record(record: Mapping[str, Any], policy: BlindPolicy, *, alias: str) -> dict[str, Any]:
    """A copy of ``record`` safe to show to a blind evaluator or to put in an export."""
    values = {str(record[f]).strip() for f in policy.identifying_fields if f in record}
    values |= {strip_legal_form(v) for v in values}
    secrets = sorted(
        {v for v in values if v},
        key=len,
        reverse=True,  # longest first, so "(주)한빛정밀" is masked before "한빛정밀"
    )
    secrets = [s for s in secrets if len(s) >= 2]
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in policy.keep_fields:
            out[key] = value
        elif key == policy.name_field and key in policy.identifying_fields:
            out[key] = alias
        elif key in policy.identifying_fields:
            out[key] = MASK
        elif policy.scrub_free_text and isinstance(value, str):
            out[key] = _scrub(value, secrets)
        else:
            out[key] = value
    return out


def redact_rows(
    rows: Sequence[Mapping[str, Any]], policy: BlindPolicy, *, id_field: str = "application_id"
) -> list[dict[str, Any]]:
    """Redact every row of an aggregate view or export; rows keyed by ``id_field`` get stable aliases."""
    names = aliases([str(r[id_field]) for r in rows if id_field in r], policy.secret)
    return [redact_record(r, policy, alias=names.get(str(r.get(id_field)), MASK)) for r in rows]
