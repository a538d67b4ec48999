"""Helpers shared by the program services: time zone, call window and rubric from the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from aion.program.calls.deadline import CallWindow, Extension
from aion.program.errors import ProgramError
from aion.program.evaluation.rubric import Criterion, Rubric
from aion.program.models import ProgramCall
from aion.program.text import Text

KST = timezone(timedelta(hours=9))


class InputError(ProgramError, ValueError):
    """Bad input from a form; the message is 'Korean / English'."""


def now() -> datetime:
    return datetime.now(UTC)


def today_kst() -> date:
    return now().astimezone(KST).date()


def fail(ko: str, en: str) -> InputError:
    return InputError(f"{ko} / {en}")


def window_of(call: ProgramCall) -> CallWindow:
    """The engine's window, with the recorded extensions."""
    exts = tuple(
        Extension(
            datetime.fromisoformat(e["previous_close"]),
            datetime.fromisoformat(e["new_close"]),
            e["reason"],
            e["by"],
            datetime.fromisoformat(e["at"]),
        )
        for e in call.extensions or []
    )
    return CallWindow(call.opens_at, call.closes_at, exts)


def rubric_of(call: ProgramCall) -> Rubric:
    return Rubric(
        tuple(
            Criterion(
                c["id"],
                Text(c["ko"], c.get("en") or c["ko"]),
                float(c["weight"]),
                float(c.get("max", 5)),
                bool(c.get("comment_required", True)),
            )
            for c in call.rubric
        )
    )


DEFAULT_RUBRIC: list[dict[str, Any]] = [
    {"id": "need", "ko": "도입 필요성", "en": "Need", "weight": 25, "max": 5},
    {"id": "feasibility", "ko": "실현 가능성", "en": "Feasibility", "weight": 30, "max": 5},
    {"id": "capability", "ko": "추진 역량", "en": "Capability", "weight": 25, "max": 5},
    {"id": "impact", "ko": "기대 효과", "en": "Expected impact", "weight": 20, "max": 5},
]

# Fields every application has (eligibility needs them), before the call's own fields.
STANDARD_FIELDS: list[dict[str, Any]] = [
    {"name": "employees", "ko": "상시 근로자 수", "en": "Employees", "kind": "number", "required": True},
    {
        "name": "industry_code",
        "ko": "표준산업분류 코드 (예: C29)",
        "en": "KSIC industry code (e.g. C29)",
        "kind": "text",
        "required": True,
    },
    {"name": "founded_year", "ko": "설립 연도", "en": "Year founded", "kind": "number", "required": False},
    {
        "name": "sales_mkrw",
        "ko": "연 매출액 (백만 원)",
        "en": "Annual sales (KRW million)",
        "kind": "number",
        "required": False,
    },
]


def label(field: dict[str, Any], lang: str) -> str:
    return str(field.get("en") if lang == "en" and field.get("en") else field.get("ko") or field["name"])
