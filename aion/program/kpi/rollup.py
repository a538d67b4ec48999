"""Targets against actuals by year, track and agency, rolled up from typed records.

Actuals are never typed in: each :class:`KPIRecord` stands for one program record (a
finished diagnosis, a delivered solution, a completed demonstration ...), derived by
the caller from its database. An indicator counts distinct companies (the default:
"150 companies diagnosed"), records, or sums values.

A company served by two agencies counts once in the total and once for each agency, so
agency rows need not add up to the total; this is intended.

>>> recs = [KPIRecord(2026, "diagnosis", "UTP", "diagnosis", "220-81-62517"),
...         KPIRecord(2026, "diagnosis", "UIPA", "diagnosis", "220-81-62517"),
...         KPIRecord(2026, "diagnosis", "UIPA", "diagnosis", "124-81-00998")]
>>> rep = rollup(recs, [KPITarget(2026, "diagnosis", 150)], year=2026)
>>> row = rep.total("diagnosis")
>>> row.actual, row.target, row.rate
(2.0, 150.0, 0.0133)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aion.program.brn import validate_brn
from aion.program.errors import InvalidBRNError, KPIError
from aion.program.text import Text

__all__ = [
    "COUNT_MODES",
    "DEFAULT_INDICATORS",
    "DEFAULT_TARGETS",
    "Indicator",
    "KPIRecord",
    "KPIReport",
    "KPITarget",
    "RollupRow",
    "default_targets",
    "rollup",
]

COUNT_MODES = ("companies", "records", "sum")


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Text
    unit: Text
    count: str = "companies"  # one of COUNT_MODES

    def __post_init__(self) -> None:
        if self.count not in COUNT_MODES:
            raise KPIError(
                f"집계 방식 오류: {self.count!r} (가능: {', '.join(COUNT_MODES)}) / "
                f"Invalid count mode: {self.count!r} (valid: {', '.join(COUNT_MODES)})"
            )


COMPANIES = Text("개사", "companies")
DEFAULT_INDICATORS: tuple[Indicator, ...] = (
    Indicator("diagnosis", Text("AI 진단·컨설팅", "AI diagnosis & consulting"), COMPANIES),
    Indicator("solution", Text("AI 솔루션 보급", "AI solutions delivered"), COMPANIES),
    Indicator("demonstration", Text("기술 실증", "Technology demonstrations"), COMPANIES),
    Indicator("verification", Text("기술 검증", "Technology verifications"), COMPANIES),
    Indicator("incubation", Text("AI 스타트업 육성", "AI start-ups incubated"), COMPANIES),
    Indicator(
        "trainees", Text("AI 교육 수료", "AI course completions"), Text("명", "people"), count="records"
    ),
)


@dataclass(frozen=True)
class KPITarget:
    year: int
    indicator: str
    target: float
    agency: str | None = None  # None: the whole program
    track: str | None = None


@dataclass(frozen=True)
class KPIRecord:
    year: int
    indicator: str
    agency: str
    track: str
    company_brn: str = ""
    value: float = 1.0
    source_id: str = ""  # the program record it comes from; duplicates by source are counted once


# The program's yearly targets from the mission (program-wide).
DEFAULT_TARGETS: tuple[tuple[str, float], ...] = (
    ("diagnosis", 150),
    ("solution", 100),
    ("demonstration", 15),
    ("incubation", 30),
)


def default_targets(year: int) -> list[KPITarget]:
    """The program-wide yearly targets (150 diagnoses, 100 solutions, 15 demonstrations, 30 incubations)."""
    return [KPITarget(year, code, value) for code, value in DEFAULT_TARGETS]


@dataclass(frozen=True)
class RollupRow:
    year: int
    indicator: str
    agency: str | None
    track: str | None
    target: float | None
    actual: float
    target_derived: bool = False  # the target is the sum of agency targets

    @property
    def rate(self) -> float | None:
        """Actual / target, rounded to 4 decimals (None without a target)."""
        if not self.target:
            return None
        return round(self.actual / self.target, 4)

    @property
    def level(self) -> str:
        if self.agency is None and self.track is None:
            return "total"
        if self.track is None:
            return "agency"
        if self.agency is None:
            return "track"
        return "agency_track"


@dataclass(frozen=True)
class KPIReport:
    years: tuple[int, ...]
    indicators: tuple[Indicator, ...]
    rows: tuple[RollupRow, ...]

    def indicator(self, code: str) -> Indicator:
        for i in self.indicators:
            if i.code == code:
                return i
        raise KPIError(f"없는 지표: {code!r} / Unknown indicator: {code!r}")

    def select(self, level: str, *, year: int | None = None, indicator: str | None = None) -> list[RollupRow]:
        return [
            r
            for r in self.rows
            if r.level == level
            and (year is None or r.year == year)
            and (indicator is None or r.indicator == indicator)
        ]

    def total(self, indicator: str, year: int | None = None) -> RollupRow:
        rows = self.select("total", year=year if year is not None else self.years[-1], indicator=indicator)
        if not rows:
            raise KPIError(f"없는 지표: {indicator!r} / Unknown indicator: {indicator!r}")
        return rows[0]


def _measure(ind: Indicator, records: Iterable[KPIRecord]) -> float:
    recs = list(records)
    if ind.count == "sum":
        return float(sum(r.value for r in recs))
    if ind.count == "records":
        return float(len(recs))
    return float(len({r.company_brn for r in recs}))


def rollup(
    records: Sequence[KPIRecord],
    targets: Sequence[KPITarget],
    *,
    year: int | None = None,
    years: Sequence[int] | None = None,
    indicators: Sequence[Indicator] = DEFAULT_INDICATORS,
) -> KPIReport:
    """Roll records up to rows per year and indicator: total, per agency, per track, per agency and track.

    Give ``year`` or ``years``. Records of unknown indicators are an error (a typo would
    otherwise silently lower an actual). In "companies" mode every record needs a valid
    business registration number.
    """
    ys = tuple(years) if years is not None else ((year,) if year is not None else ())
    if not ys:
        raise KPIError("연도를 지정하십시오 / Give a year or years")
    by_code = {i.code: i for i in indicators}
    unknown = sorted(
        {r.indicator for r in records} - set(by_code) | {t.indicator for t in targets} - set(by_code)
    )
    if unknown:
        raise KPIError(
            f"없는 지표: {', '.join(unknown)} (가능: {', '.join(by_code)}) / "
            f"Unknown indicators: {', '.join(unknown)} (valid: {', '.join(by_code)})"
        )
    seen: set[tuple[str, str]] = set()
    clean: list[KPIRecord] = []
    for r in records:
        if r.year not in ys:
            continue
        if r.source_id:
            if (r.indicator, r.source_id) in seen:
                continue
            seen.add((r.indicator, r.source_id))
        if by_code[r.indicator].count == "companies":
            try:
                r = KPIRecord(
                    r.year, r.indicator, r.agency, r.track, validate_brn(r.company_brn), r.value, r.source_id
                )
            except InvalidBRNError as e:
                raise KPIError(f"KPI 기록 {r.source_id or r}: {e}") from e
        clean.append(r)
    target_of: dict[tuple[int, str, str | None, str | None], float] = {}
    for t in targets:
        key = (t.year, t.indicator, t.agency, t.track)
        if key in target_of:
            raise KPIError(f"목표가 중복됩니다: {key} / Duplicate target: {key}")
        target_of[key] = float(t.target)
    rows: list[RollupRow] = []
    for y in ys:
        for ind in indicators:
            recs = [r for r in clean if r.year == y and r.indicator == ind.code]
            groups: dict[tuple[str | None, str | None], list[KPIRecord]] = defaultdict(list)
            for r in recs:
                groups[(r.agency, None)].append(r)
                groups[(None, r.track)].append(r)
                groups[(r.agency, r.track)].append(r)
            for t in targets:  # a target with no records yet still gets its row (actual 0)
                if t.year == y and t.indicator == ind.code and (t.agency, t.track) != (None, None):
                    groups.setdefault((t.agency, t.track), [])
            total_target = target_of.get((y, ind.code, None, None))
            derived = False
            if total_target is None:
                parts = [
                    v
                    for (ty, ti, ta, tt), v in target_of.items()
                    if (ty, ti, tt) == (y, ind.code, None) and ta
                ]
                if parts:
                    total_target, derived = float(sum(parts)), True
            rows.append(RollupRow(y, ind.code, None, None, total_target, _measure(ind, recs), derived))
            for (agency, track), rs in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
                rows.append(
                    RollupRow(
                        y,
                        ind.code,
                        agency,
                        track,
                        target_of.get((y, ind.code, agency, track)),
                        _measure(ind, rs),
                    )
                )
    return KPIReport(ys, tuple(indicators), tuple(rows))
