"""Company outcomes and the comparison-group table (one row per company per year).

Outcomes (sales, jobs, productivity, defect rate, cost, delivery, accidents) are kept
per company and year with baseline, target and actual. For comparison-group studies
(supported against not-supported companies, e.g. applicants who were not selected),
:func:`comparison_group_rows` joins companies, support and outcomes into one row per
company per year.

>>> from aion.program.calls.records import CompanyProfile, SupportRecord
>>> c = CompanyProfile("220-81-62517", "(주)한빛정밀", "울산 북구", 42, "C29")
>>> s = SupportRecord("s1", "220-81-62517", "UTP", "solution", 2026, "solution:inspection")
>>> o = OutcomeRecord("220-81-62517", 2026, "defect_rate", baseline=3.2, target=2.0, actual=1.8)
>>> row = comparison_group_rows([c], [s], [o], years=[2025, 2026])[1]
>>> row.year, row.supported, row.first_support_year, row.outcomes["defect_rate"]
(2026, True, 2026, 1.8)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aion.program.brn import validate_brn
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.errors import KPIError
from aion.program.text import Text

__all__ = ["METRICS", "CompanyYearRow", "OutcomeRecord", "comparison_group_rows", "outcome_progress"]

# metric id -> (name, unit, higher is better)
METRICS: dict[str, tuple[Text, Text, bool]] = {
    "sales": (Text("매출액", "Sales"), Text("백만 원", "KRW million"), True),
    "jobs": (Text("고용", "Jobs"), Text("명", "people"), True),
    "productivity": (Text("생산성", "Productivity"), Text("개/시간", "units/hour"), True),
    "defect_rate": (Text("불량률", "Defect rate"), Text("%", "%"), False),
    "cost": (Text("제조원가", "Manufacturing cost"), Text("백만 원", "KRW million"), False),
    "delivery": (Text("납기 준수율", "On-time delivery"), Text("%", "%"), True),
    "accidents": (Text("안전사고", "Accidents"), Text("건", "cases"), False),
}


@dataclass(frozen=True)
class OutcomeRecord:
    company_brn: str
    year: int
    metric: str  # one of METRICS
    baseline: float | None = None
    target: float | None = None
    actual: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise KPIError(
                f"없는 성과 지표: {self.metric!r} (가능: {', '.join(METRICS)}) / "
                f"Unknown outcome metric: {self.metric!r} (valid: {', '.join(METRICS)})"
            )


def outcome_progress(o: OutcomeRecord) -> float | None:
    """Share of the planned improvement achieved: (actual - baseline) / (target - baseline).

    Works for metrics where lower is better too. ``None`` when a value is missing or the
    target equals the baseline.

    >>> outcome_progress(OutcomeRecord("220-81-62517", 2026, "defect_rate", 3.0, 2.0, 2.5))
    0.5
    """
    if o.baseline is None or o.target is None or o.actual is None or o.target == o.baseline:
        return None
    return round((o.actual - o.baseline) / (o.target - o.baseline), 4)


@dataclass(frozen=True)
class CompanyYearRow:
    brn: str
    name: str
    year: int
    region: str
    industry_code: str
    employees: int
    supported: bool  # received support in this year
    ever_supported: bool  # received support in any year up to and including this one
    first_support_year: int | None
    tracks: tuple[str, ...]  # tracks supported in this year
    agencies: tuple[str, ...]
    support_amount_krw: int  # this year
    outcomes: Mapping[str, float | None]  # metric -> actual in this year

    def as_dict(self) -> dict[str, object]:
        """A flat row for CSV/Excel: outcome metrics become columns."""
        return {
            "brn": self.brn,
            "name": self.name,
            "year": self.year,
            "region": self.region,
            "industry_code": self.industry_code,
            "employees": self.employees,
            "supported": int(self.supported),
            "ever_supported": int(self.ever_supported),
            "first_support_year": self.first_support_year,
            "tracks": ";".join(self.tracks),
            "agencies": ";".join(self.agencies),
            "support_amount_krw": self.support_amount_krw,
            **{m: self.outcomes.get(m) for m in METRICS},
        }


def comparison_group_rows(
    companies: Sequence[CompanyProfile],
    support: Sequence[SupportRecord],
    outcomes: Sequence[OutcomeRecord],
    *,
    years: Sequence[int],
) -> list[CompanyYearRow]:
    """One row per company per year, sorted by company number and year.

    Every company given is included whether it was supported or not (the comparison
    group). Support and outcomes of companies not in ``companies`` are an error, so that
    nothing is dropped silently.
    """
    profiles: dict[str, CompanyProfile] = {}
    for c in companies:
        profiles[validate_brn(c.brn)] = c
    sup: dict[str, list[SupportRecord]] = defaultdict(list)
    for s in {s.id: s for s in support}.values():
        brn = validate_brn(s.company_brn)
        if brn not in profiles:
            raise KPIError(
                f"기업 목록에 없는 지원 기록: {s.id} ({brn}) / "
                f"Support for an unlisted company: {s.id} ({brn})"
            )
        sup[brn].append(s)
    out_by: dict[tuple[str, int], dict[str, float | None]] = defaultdict(dict)
    for o in outcomes:
        brn = validate_brn(o.company_brn)
        if brn not in profiles:
            raise KPIError(f"기업 목록에 없는 성과 기록: {brn} / Outcome for an unlisted company: {brn}")
        out_by[(brn, o.year)][o.metric] = o.actual
    rows: list[CompanyYearRow] = []
    for brn in sorted(profiles):
        c = profiles[brn]
        history = sorted(sup.get(brn, []), key=lambda s: (s.year, s.id))
        first = history[0].year if history else None
        for y in sorted(set(years)):
            this = [s for s in history if s.year == y]
            rows.append(
                CompanyYearRow(
                    brn=brn,
                    name=c.name,
                    year=y,
                    region=c.region,
                    industry_code=c.industry_code,
                    employees=c.employees,
                    supported=bool(this),
                    ever_supported=first is not None and first <= y,
                    first_support_year=first,
                    tracks=tuple(sorted({s.track for s in this})),
                    agencies=tuple(sorted({s.agency for s in this})),
                    support_amount_krw=sum(s.amount_krw for s in this),
                    outcomes=dict(out_by.get((brn, y), {})),
                )
            )
    return rows
