"""Eligibility rules of a call, evaluated against a company profile with bilingual reasons.

Each rule has one verb, ``check(profile, on) -> RuleResult``, and round-trips through
plain data (``to_dict`` / :func:`rule_from_dict`) so a call stores its rules as JSON.

>>> from datetime import date
>>> p = CompanyProfile("220-81-62517", "(주)한빛정밀", "울산광역시 북구", 42, "C29")
>>> rules = [RegionRule(("울산",)), SizeRule(max_employees=300), IndustryRule(("C",))]
>>> result = evaluate_eligibility(p, rules, on=date(2026, 3, 1))
>>> result.eligible, [r.passed for r in result.results]
(True, [True, True, True])
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, ClassVar

from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.errors import CallError
from aion.program.text import Text

__all__ = [
    "RULE_KINDS",
    "AgeRule",
    "CompanyProfile",
    "Eligibility",
    "EligibilityRule",
    "IndustryRule",
    "PriorSupportRule",
    "RegionRule",
    "RuleResult",
    "SizeRule",
    "evaluate_eligibility",
    "normalise_ksic",
    "normalise_region",
    "rule_from_dict",
]

_PROVINCES = {
    "충북": "충청북", "충남": "충청남", "전북": "전라북",
    "전남": "전라남", "경북": "경상북", "경남": "경상남",
}  # fmt: skip
_SUFFIXES = re.compile(r"(특별자치시|특별자치도|광역시|특별시)")


def normalise_region(region: str) -> str:
    """A comparable form of a Korean region name.

    >>> normalise_region("울산광역시 북구") == normalise_region("울산 북구")
    True
    >>> normalise_region("경남 양산시") == normalise_region("경상남도 양산시")
    True
    """
    s = _SUFFIXES.sub("", region.strip())
    parts = s.split()
    if parts:
        head = parts[0]
        head = head[:-1] if head.endswith("도") and len(head) > 2 else head
        parts[0] = _PROVINCES.get(head, head)
    return " ".join(parts)


def normalise_ksic(code: str) -> str:
    """KSIC code with its section letter: ``"29301"`` -> ``"C29301"`` (divisions 10-34 are C).

    >>> normalise_ksic("c 29-301"), normalise_ksic("C29"), normalise_ksic("62010")
    ('C29301', 'C29', '62010')
    """
    s = re.sub(r"[\s\-.]", "", code).upper()
    if len(s) >= 2 and s[:2].isdigit() and 10 <= int(s[:2]) <= 34:
        return "C" + s
    return s


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason: Text


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if not r.passed)


class EligibilityRule(ABC):
    kind: ClassVar[str] = ""
    label: ClassVar[Text] = Text("", "")  # the rule's name on the call's page

    @abstractmethod
    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult: ...

    @abstractmethod
    def describe(self) -> Text:
        """What the rule asks, as an applicant reads it on the call's page."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        return {
            "kind": self.kind,
            **{k: list(v) if isinstance(v, tuple | frozenset) else v for k, v in data.items()},
        }

    def _result(self, passed: bool, ko: str, en: str) -> RuleResult:
        return RuleResult(self.kind, passed, Text(ko, en))


@dataclass(frozen=True)
class RegionRule(EligibilityRule):
    """The company's site is in one of ``allowed`` (prefix match, '울산' covers '울산광역시 북구')."""

    allowed: tuple[str, ...]
    kind: ClassVar[str] = "region"
    label: ClassVar[Text] = Text("지역", "Region")

    def describe(self) -> Text:
        """
        >>> RegionRule(("울산", "경남")).describe().en
        'Located in 울산 or 경남'
        """
        return Text(f"{' 또는 '.join(self.allowed)} 소재", f"Located in {' or '.join(self.allowed)}")

    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult:
        region = normalise_region(profile.region)
        ok = any(region == (a := normalise_region(x)) or region.startswith(a + " ") for x in self.allowed)
        allowed = ", ".join(self.allowed)
        if ok:
            return self._result(
                True, f"소재지 요건 충족: {profile.region}", f"Location accepted: {profile.region}"
            )
        return self._result(
            False,
            f"소재지가 대상 지역이 아닙니다: {profile.region} (대상: {allowed})",
            f"Location not eligible: {profile.region} (eligible: {allowed})",
        )


@dataclass(frozen=True)
class SizeRule(EligibilityRule):
    """Employee and sales limits (inclusive). ``None`` means no limit."""

    max_employees: int | None = None
    min_employees: int | None = None
    max_sales_krw: int | None = None
    kind: ClassVar[str] = "size"
    label: ClassVar[Text] = Text("규모", "Size")

    def describe(self) -> Text:
        """
        >>> SizeRule(max_employees=300).describe().ko
        '상시 근로자 300명 이하'
        >>> SizeRule(min_employees=5, max_sales_krw=12_000_000_000).describe().en
        'at least 5 employees, annual sales up to KRW 12,000,000,000'
        """
        ko, en = [], []
        if self.max_employees is not None:
            ko.append(f"상시 근로자 {self.max_employees:,}명 이하")
            en.append(f"{self.max_employees:,} employees or fewer")
        if self.min_employees is not None:
            ko.append(f"상시 근로자 {self.min_employees:,}명 이상")
            en.append(f"at least {self.min_employees:,} employees")
        if self.max_sales_krw is not None:
            ko.append(f"매출액 {self.max_sales_krw / 1e8:,.1f}억 원 이하")
            en.append(f"annual sales up to KRW {self.max_sales_krw:,}")
        return Text(", ".join(ko) or "제한 없음", ", ".join(en) or "no limit")

    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult:
        n = profile.employees
        if self.max_employees is not None and n > self.max_employees:
            return self._result(
                False,
                f"상시 근로자 {n}명이 상한 {self.max_employees}명을 넘습니다",
                f"{n} employees exceed the limit of {self.max_employees}",
            )
        if self.min_employees is not None and n < self.min_employees:
            return self._result(
                False,
                f"상시 근로자 {n}명이 하한 {self.min_employees}명보다 적습니다",
                f"{n} employees are below the minimum of {self.min_employees}",
            )
        if self.max_sales_krw is not None:
            sales = profile.annual_sales_krw
            if sales is None:
                return self._result(False, "매출액 정보가 없습니다", "Annual sales are missing")
            if sales > self.max_sales_krw:
                return self._result(
                    False,
                    f"매출액 {sales / 1e8:,.1f}억 원이 상한 {self.max_sales_krw / 1e8:,.1f}억 원을 넘습니다",
                    f"Sales of KRW {sales:,} exceed the limit of KRW {self.max_sales_krw:,}",
                )
        return self._result(True, f"규모 요건 충족 (근로자 {n}명)", f"Size accepted ({n} employees)")


@dataclass(frozen=True)
class IndustryRule(EligibilityRule):
    """KSIC code starts with one of ``allowed`` and none of ``excluded`` ('C' = manufacturing)."""

    allowed: tuple[str, ...] = ("C",)
    excluded: tuple[str, ...] = ()
    kind: ClassVar[str] = "industry"
    label: ClassVar[Text] = Text("업종", "Industry")

    def describe(self) -> Text:
        """
        >>> IndustryRule(("C",), ("C12",)).describe().ko
        '한국표준산업분류 C(제조업), C12 제외'
        """
        names = {"C": ("C(제조업)", "C (manufacturing)")}
        ko = ", ".join(names.get(a, (a, a))[0] for a in self.allowed)
        en = ", ".join(names.get(a, (a, a))[1] for a in self.allowed)
        if self.excluded:
            ko += f", {', '.join(self.excluded)} 제외"
            en += f", except {', '.join(self.excluded)}"
        return Text(f"한국표준산업분류 {ko}", f"KSIC {en}")

    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult:
        code = normalise_ksic(profile.industry_code)
        bad = next((x for x in self.excluded if code.startswith(normalise_ksic(x))), None)
        if bad is not None:
            return self._result(
                False, f"제외 업종입니다: {profile.industry_code} ({bad})",
                f"Excluded industry: {profile.industry_code} ({bad})",
            )  # fmt: skip
        if any(code.startswith(normalise_ksic(a)) for a in self.allowed):
            return self._result(
                True,
                f"업종 요건 충족: {profile.industry_code}",
                f"Industry accepted: {profile.industry_code}",
            )
        allowed = ", ".join(self.allowed)
        return self._result(
            False,
            f"대상 업종이 아닙니다: {profile.industry_code} (대상: {allowed})",
            f"Industry not eligible: {profile.industry_code} (eligible: {allowed})",
        )


@dataclass(frozen=True)
class PriorSupportRule(EligibilityRule):
    """At most ``max_count`` earlier supports in ``tracks`` (all tracks when empty) within ``within_years``.

    Years count back from ``on``: with ``within_years=3`` in 2026, support in 2023-2026 counts.
    """

    tracks: tuple[str, ...] = ()
    within_years: int = 3
    max_count: int = 0
    kind: ClassVar[str] = "prior_support"
    label: ClassVar[Text] = Text("기존 지원 이력", "Prior support")

    def describe(self) -> Text:
        """
        >>> PriorSupportRule(("smart-factory",)).describe().en
        'no support from smart-factory in the last 3 years'
        >>> PriorSupportRule(max_count=1, within_years=2).describe().ko
        '최근 2년 내 모든 사업의 지원 1건 이하'
        """
        ko_from = f"{', '.join(self.tracks)} 사업" if self.tracks else "모든 사업"
        en_from = ", ".join(self.tracks) if self.tracks else "any programme"
        if self.max_count == 0:
            return Text(
                f"최근 {self.within_years}년 내 {ko_from}의 지원 이력 없음",
                f"no support from {en_from} in the last {self.within_years} years",
            )
        return Text(
            f"최근 {self.within_years}년 내 {ko_from}의 지원 {self.max_count}건 이하",
            f"at most {self.max_count} supports from {en_from} in the last {self.within_years} years",
        )

    def relevant(self, profile: CompanyProfile, on: date) -> list[SupportRecord]:
        return [
            r
            for r in profile.support_history
            if on.year - self.within_years <= r.year <= on.year
            and (not self.tracks or r.track in self.tracks)
        ]

    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult:
        found = self.relevant(profile, on)
        if len(found) <= self.max_count:
            return self._result(
                True,
                f"기지원 제한 해당 없음 (최근 {self.within_years}년 {len(found)}건)",
                f"No prior-support restriction ({len(found)} in the last {self.within_years} years)",
            )
        listed = ", ".join(f"{r.year} {r.agency} {r.title or r.category}" for r in found)
        return self._result(
            False,
            f"최근 {self.within_years}년 내 동일 사업 지원 이력 {len(found)}건 "
            f"(허용 {self.max_count}건): {listed}",
            f"{len(found)} prior supports in the last {self.within_years} years "
            f"(allowed {self.max_count}): {listed}",
        )


@dataclass(frozen=True)
class AgeRule(EligibilityRule):
    """Years since founding within limits (e.g. start-ups: at most 7 years)."""

    max_years: int | None = None
    min_years: int | None = None
    kind: ClassVar[str] = "age"
    label: ClassVar[Text] = Text("업력", "Years in business")

    def describe(self) -> Text:
        """
        >>> AgeRule(max_years=7).describe().both()
        '설립 7년 이하 / in business for 7 years or less'
        """
        ko, en = [], []
        if self.max_years is not None:
            ko.append(f"설립 {self.max_years}년 이하")
            en.append(f"in business for {self.max_years} years or less")
        if self.min_years is not None:
            ko.append(f"설립 {self.min_years}년 이상")
            en.append(f"in business for at least {self.min_years} years")
        return Text(", ".join(ko) or "제한 없음", ", ".join(en) or "no limit")

    def check(self, profile: CompanyProfile, *, on: date) -> RuleResult:
        if profile.founded is None:
            return self._result(False, "설립일 정보가 없습니다", "Founding date is missing")
        years = (
            on.year
            - profile.founded.year
            - ((on.month, on.day) < (profile.founded.month, profile.founded.day))
        )
        if self.max_years is not None and years > self.max_years:
            return self._result(
                False, f"업력 {years}년이 상한 {self.max_years}년을 넘습니다",
                f"{years} years in business exceed the limit of {self.max_years}",
            )  # fmt: skip
        if self.min_years is not None and years < self.min_years:
            return self._result(
                False, f"업력 {years}년이 하한 {self.min_years}년보다 짧습니다",
                f"{years} years in business are below the minimum of {self.min_years}",
            )  # fmt: skip
        return self._result(True, f"업력 요건 충족 ({years}년)", f"Age accepted ({years} years)")


RULE_KINDS: dict[str, type[EligibilityRule]] = {
    c.kind: c for c in (RegionRule, SizeRule, IndustryRule, PriorSupportRule, AgeRule)
}


def rule_from_dict(data: Mapping[str, Any]) -> EligibilityRule:
    """Build a rule from its stored form ``{"kind": ..., **fields}``."""
    kind = data.get("kind")
    cls = RULE_KINDS.get(str(kind))
    if cls is None:
        valid = ", ".join(RULE_KINDS)
        raise CallError(
            f"없는 자격 규칙: {kind!r} (가능: {valid}) / Unknown eligibility rule: {kind!r} (valid: {valid})"
        )
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "kind"}
    try:
        return cls(**args)
    except TypeError as e:
        raise CallError(f"자격 규칙 형식 오류: {dict(data)} / Invalid eligibility rule: {dict(data)}") from e


def evaluate_eligibility(
    profile: CompanyProfile, rules: Sequence[EligibilityRule], *, on: date
) -> Eligibility:
    """Check every rule (not only up to the first failure), so the applicant sees all reasons."""
    results = tuple(r.check(profile, on=on) for r in rules)
    return Eligibility(all(r.passed for r in results), results)
