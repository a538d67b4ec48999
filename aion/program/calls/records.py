"""Typed records shared by the call engines: company profile and past support."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aion.program.brn import validate_brn


@dataclass(frozen=True)
class SupportRecord:
    """One piece of support a company received (or is about to receive).

    ``category`` says *what* was funded, so "the same thing" can be recognised across
    agencies and years, e.g. ``"diagnosis"``, ``"solution:inspection"``, ``"verification"``.
    """

    id: str
    company_brn: str
    agency: str
    track: str
    year: int
    category: str
    title: str = ""
    amount_krw: int = 0
    program: str = ""  # the funding programme, e.g. "울산 제조AI 지원사업"

    @property
    def brn(self) -> str:
        """The normalised business registration number (``XXX-XX-XXXXX``)."""
        return validate_brn(self.company_brn)


@dataclass(frozen=True)
class CompanyProfile:
    brn: str
    name: str
    region: str  # e.g. "울산광역시 북구"
    employees: int
    industry_code: str  # KSIC, e.g. "C29" or "29301"
    annual_sales_krw: int | None = None
    founded: date | None = None
    support_history: tuple[SupportRecord, ...] = ()
