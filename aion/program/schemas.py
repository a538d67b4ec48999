"""Form input of the program pages: parsing with clear bilingual errors (nothing stored on error)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aion.program.service.common import KST, STANDARD_FIELDS, fail

KINDS = ("text", "textarea", "number")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass
class CallInput:
    code: str
    year: int
    track: str
    agency_id: int
    title: str
    description: str
    n_select: int
    n_reserve: int
    min_score: float | None
    aggregation: str
    blind: bool
    opens_at: datetime
    closes_at: datetime
    eligibility: list[dict[str, Any]] = field(default_factory=list)
    form_fields: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    rubric: list[dict[str, Any]] = field(default_factory=list)


def parse_local_time(value: str, name: str) -> datetime:
    """A ``datetime-local`` value, read as Korean time."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=KST)
    except ValueError as e:
        raise fail(f"날짜·시각 형식이 잘못되었습니다: {name}", f"Invalid date and time: {name}") from e


def parse_int(value: str, name: str, *, minimum: int = 0) -> int:
    try:
        n = int(value.strip())
    except ValueError as e:
        raise fail(f"숫자를 입력하십시오: {name}", f"Enter a whole number: {name}") from e
    if n < minimum:
        raise fail(f"{name}은(는) {minimum} 이상이어야 합니다", f"{name} must be at least {minimum}")
    return n


def parse_form_fields(text: str) -> list[dict[str, Any]]:
    """One field per line: ``name | label | kind | required | identifying``.

    >>> parse_form_fields("plan | 추진 계획 | textarea | yes")[0]["kind"]
    'textarea'
    """
    out: list[dict[str, Any]] = []
    reserved = {f["name"] for f in STANDARD_FIELDS}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        name = parts[0]
        if not _NAME.match(name) or name in reserved or any(f["name"] == name for f in out):
            raise fail(
                f"신청서 항목 {n}행: 이름 {name!r}이(가) 잘못되었거나 중복입니다 (영문 소문자·숫자·_)",
                f"Form field line {n}: name {name!r} is invalid or repeated (a-z, 0-9, _)",
            )
        kind = parts[2] if len(parts) > 2 and parts[2] else "text"
        if kind not in KINDS:
            raise fail(
                f"신청서 항목 {n}행: 종류는 {', '.join(KINDS)} 중 하나",
                f"Form field line {n}: kind is one of {KINDS}",
            )
        yes = ("yes", "y", "true", "1", "예", "필수")
        out.append(
            {
                "name": name,
                "ko": parts[1] if len(parts) > 1 and parts[1] else name,
                "kind": kind,
                "required": len(parts) > 3 and parts[3].lower() in yes,
                "identifying": len(parts) > 4 and parts[4].lower() in yes,
            }
        )
    return out


def parse_rubric(text: str) -> list[dict[str, Any]]:
    """One criterion per line: ``id | label | weight | max score``."""
    out: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        try:
            cid, ko, weight = parts[0], parts[1], float(parts[2])
            top = float(parts[3]) if len(parts) > 3 and parts[3] else 5.0
        except (IndexError, ValueError) as e:
            raise fail(
                f"평가 항목 {n}행 형식: id | 이름 | 배점 | 최고 점수",
                f"Rubric line {n}: id | name | weight | max",
            ) from e
        if not _NAME.match(cid) or weight <= 0 or top <= 0:
            raise fail(f"평가 항목 {n}행 값이 잘못되었습니다", f"Rubric line {n} has an invalid value")
        out.append({"id": cid, "ko": ko, "en": ko, "weight": weight, "max": top})
    if not out:
        raise fail("평가 항목이 하나 이상 필요합니다", "The rubric needs at least one criterion")
    if len({c["id"] for c in out}) != len(out):
        raise fail("평가 항목 ID가 중복되었습니다", "Rubric criterion ids repeat")
    return out


def rubric_text(rubric: list[dict[str, Any]]) -> str:
    return "\n".join(f"{c['id']} | {c['ko']} | {c['weight']:g} | {c.get('max', 5):g}" for c in rubric)


def parse_eligibility(form: dict[str, str]) -> list[dict[str, Any]]:
    """Eligibility rules from the call form (each optional), in the engine's storage format."""
    rules: list[dict[str, Any]] = []
    regions = [r.strip() for r in form.get("rule_region", "").split(",") if r.strip()]
    if regions:
        rules.append({"kind": "region", "allowed": regions})
    if form.get("rule_max_employees", "").strip():
        rules.append(
            {"kind": "size", "max_employees": parse_int(form["rule_max_employees"], "max employees")}
        )
    industries = [r.strip() for r in form.get("rule_industry", "").split(",") if r.strip()]
    if industries:
        rules.append({"kind": "industry", "allowed": industries})
    if form.get("rule_prior_years", "").strip():
        rules.append(
            {
                "kind": "prior_support",
                "tracks": [form.get("track", "")],
                "within_years": parse_int(form["rule_prior_years"], "prior support years", minimum=1),
                "max_count": 0,
            }
        )
    return rules
