"""Conflict-of-interest exclusion rules, as pure functions over typed records.

Each rule has one verb, ``check(evaluator, applicant) -> ConflictFinding | None``.
An operator can override a finding with a reason; the override is a record too.

>>> past = (ConsultingRecord("220-81-62517", 2025),)
>>> ev = Evaluator("e1", "김평가", organisation="울산대학교", consulted=past)
>>> app = Applicant("a1", "220-81-62517", "(주)한빛정밀")
>>> [f.rule for f in find_conflicts(ev, app, on=date(2026, 4, 1))]
['prior_consulting']
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from aion.program.brn import is_valid_brn, validate_brn
from aion.program.errors import EvaluationError
from aion.program.text import Text

__all__ = [
    "Applicant",
    "ConflictFinding",
    "ConflictRule",
    "ConsultingRecord",
    "DeclaredConflict",
    "DeclaredConflictRule",
    "DEFAULT_RULES",
    "Evaluator",
    "Override",
    "PriorConsultingRule",
    "SameOrganisationRule",
    "date",
    "find_conflicts",
    "is_excluded",
    "normalise_organisation",
    "strip_legal_form",
]


@dataclass(frozen=True)
class ConsultingRecord:
    """The evaluator consulted for (or advised, or was employed by) this company in this year."""

    company_brn: str
    year: int


@dataclass(frozen=True)
class DeclaredConflict:
    """A conflict the evaluator declared before seeing the application."""

    application_id: str
    reason: str


@dataclass(frozen=True)
class Evaluator:
    id: str
    name: str
    organisation: str = ""
    organisation_brn: str = ""  # the employer's business registration number, when known
    consulted: tuple[ConsultingRecord, ...] = ()
    declared: tuple[DeclaredConflict, ...] = ()


@dataclass(frozen=True)
class Applicant:
    application_id: str
    company_brn: str
    company_name: str
    affiliates: tuple[str, ...] = ()  # partner organisations named in the application


@dataclass(frozen=True)
class ConflictFinding:
    evaluator_id: str
    application_id: str
    rule: str
    reason: Text


@dataclass(frozen=True)
class Override:
    """An operator lets an evaluator score despite a finding; the reason is mandatory."""

    evaluator_id: str
    application_id: str
    rule: str
    reason: str
    by: str
    at: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.reason.strip()) < 5:
            raise EvaluationError(
                f"예외 승인 사유를 5자 이상 입력하십시오: {self.reason!r} / "
                f"An override needs a reason of at least 5 characters: {self.reason!r}"
            )


_LEGAL_FORMS = re.compile(
    r"\(주\)|㈜|주식회사|\(유\)|유한회사|\(재\)|재단법인|\(사\)|사단법인|\bco\.?,?\s*ltd\b\.?|\binc\b\.?|\bcorp\b\.?",
    re.IGNORECASE,
)


def strip_legal_form(name: str) -> str:
    """The name without its legal form: ``strip_legal_form("(주)한빛정밀") == "한빛정밀"``."""
    return re.sub(r"\s+", " ", _LEGAL_FORMS.sub("", name, count=0)).strip()


def normalise_organisation(name: str) -> str:
    """Compare organisation names without legal forms, spaces and case.

    >>> normalise_organisation("(주) 한빛 정밀") == normalise_organisation("한빛정밀 주식회사")
    True
    """
    s = _LEGAL_FORMS.sub("", name.lower())
    return re.sub(r"[\s.,·\-_()]", "", s)


def _same_brn(a: str, b: str) -> bool:
    return bool(a and b and is_valid_brn(a) and is_valid_brn(b) and validate_brn(a) == validate_brn(b))


class ConflictRule(ABC):
    """One exclusion ground."""

    name: str = ""

    @abstractmethod
    def check(self, evaluator: Evaluator, applicant: Applicant, *, on: date) -> ConflictFinding | None: ...

    def _finding(self, evaluator: Evaluator, applicant: Applicant, ko: str, en: str) -> ConflictFinding:
        return ConflictFinding(evaluator.id, applicant.application_id, self.name, Text(ko, en))


@dataclass(frozen=True)
class SameOrganisationRule(ConflictRule):
    """The evaluator works for the applicant (same BRN or same name) or for a named affiliate."""

    name: str = field(default="same_organisation", init=False)

    def check(self, evaluator: Evaluator, applicant: Applicant, *, on: date) -> ConflictFinding | None:
        if _same_brn(evaluator.organisation_brn, applicant.company_brn):
            return self._finding(
                evaluator,
                applicant,
                f"평가위원 소속 기관이 지원 기업과 같습니다 (사업자등록번호 {applicant.company_brn})",
                f"The evaluator works for the applicant (business registration no. {applicant.company_brn})",
            )
        mine = normalise_organisation(evaluator.organisation)
        if not mine:
            return None
        for org in (applicant.company_name, *applicant.affiliates):
            if normalise_organisation(org) == mine:
                return self._finding(
                    evaluator,
                    applicant,
                    f"평가위원 소속 기관이 지원서의 기관과 같습니다: {org}",
                    f"The evaluator's organisation is named in the application: {org}",
                )
        return None


@dataclass(frozen=True)
class PriorConsultingRule(ConflictRule):
    """The evaluator consulted for the applicant within ``years`` years before ``on``."""

    years: int = 3
    name: str = field(default="prior_consulting", init=False)

    def check(self, evaluator: Evaluator, applicant: Applicant, *, on: date) -> ConflictFinding | None:
        for rec in evaluator.consulted:
            if _same_brn(rec.company_brn, applicant.company_brn) and on.year - rec.year <= self.years:
                return self._finding(
                    evaluator,
                    applicant,
                    f"최근 {self.years}년 내 지원 기업 자문·컨설팅 이력 ({rec.year}년)",
                    f"Consulted for the applicant within the last {self.years} years ({rec.year})",
                )
        return None


@dataclass(frozen=True)
class DeclaredConflictRule(ConflictRule):
    """The evaluator declared a conflict for this application."""

    name: str = field(default="declared", init=False)

    def check(self, evaluator: Evaluator, applicant: Applicant, *, on: date) -> ConflictFinding | None:
        for d in evaluator.declared:
            if d.application_id == applicant.application_id:
                return self._finding(
                    evaluator,
                    applicant,
                    f"평가위원 본인 신고: {d.reason}",
                    f"Declared by the evaluator: {d.reason}",
                )
        return None


DEFAULT_RULES: tuple[ConflictRule, ...] = (
    SameOrganisationRule(),
    PriorConsultingRule(),
    DeclaredConflictRule(),
)


def find_conflicts(
    evaluator: Evaluator, applicant: Applicant, *, on: date, rules: Sequence[ConflictRule] = DEFAULT_RULES
) -> list[ConflictFinding]:
    """Every finding of ``rules`` for this evaluator and applicant."""
    return [f for r in rules if (f := r.check(evaluator, applicant, on=on)) is not None]


def is_excluded(
    evaluator: Evaluator,
    applicant: Applicant,
    *,
    on: date,
    overrides: Iterable[Override] = (),
    rules: Sequence[ConflictRule] = DEFAULT_RULES,
) -> list[ConflictFinding]:
    """The findings that still exclude the evaluator after the operator's overrides.

    An override lifts only the finding of its own rule for that evaluator and application.
    An empty list means the evaluator may see and score the application.
    """
    lifted = {(o.evaluator_id, o.application_id, o.rule) for o in overrides}
    return [
        f
        for f in find_conflicts(evaluator, applicant, on=on, rules=rules)
        if (f.evaluator_id, f.application_id, f.rule) not in lifted
    ]
