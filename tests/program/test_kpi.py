"""KPI roll-up, exports (Excel, PDF, CSV) and the comparison-group table."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import openpyxl
import pypdf
import pytest

from aion.program.brn import brn_check_digit, validate_brn
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.errors import KPIError
from aion.program.kpi.export import (
    export_comparison_csv,
    export_comparison_xlsx,
    export_kpi_pdf,
    export_kpi_xlsx,
)
from aion.program.kpi.outcomes import OutcomeRecord, comparison_group_rows, outcome_progress
from aion.program.kpi.rollup import KPIRecord, KPITarget, default_targets, rollup

AGENCIES = ("울산테크노파크", "울산정보산업진흥원", "UNIST")


def make_brn(i: int) -> str:
    nine = f"{100 + i:03d}81{i:04d}"
    return validate_brn(nine + str(brn_check_digit(nine)))


def program_year(seed: int = 3) -> list[KPIRecord]:
    rng = random.Random(seed)
    recs: list[KPIRecord] = []
    for i in range(40):  # 40 diagnoses spread over agencies; 5 companies diagnosed twice
        recs.append(
            KPIRecord(2026, "diagnosis", AGENCIES[i % 3], "diagnosis", make_brn(i), source_id=f"d{i}")
        )
    for i in range(5):
        recs.append(
            KPIRecord(2026, "diagnosis", AGENCIES[(i + 1) % 3], "diagnosis", make_brn(i), source_id=f"dd{i}")
        )
    for i in range(12):
        recs.append(KPIRecord(2026, "solution", AGENCIES[i % 2], "solution", make_brn(i), source_id=f"s{i}"))
    for i in range(30):
        recs.append(
            KPIRecord(2026, "trainees", "UNIST", "academy", make_brn(rng.randrange(8)), source_id=f"t{i}")
        )
    recs.append(KPIRecord(2025, "diagnosis", AGENCIES[0], "diagnosis", make_brn(99), source_id="old"))
    return recs


def targets() -> list[KPITarget]:
    return [
        *default_targets(2026),
        KPITarget(2026, "diagnosis", 60, agency="울산테크노파크"),
        KPITarget(2026, "solution", 10, agency="울산테크노파크"),
        KPITarget(2026, "solution", 10, agency="울산정보산업진흥원"),
    ]


def test_rollup_counts_distinct_companies_per_level() -> None:
    rep = rollup(program_year(), targets(), year=2026)
    total = rep.total("diagnosis")
    assert total.actual == 40 and total.target == 150 and total.rate == round(40 / 150, 4)
    by_agency = {r.agency: r for r in rep.select("agency", indicator="diagnosis")}
    # Agency rows count each company once per agency: 14 + 5 re-diagnosed by the next agency.
    assert sum(r.actual for r in by_agency.values()) == 45
    assert by_agency["울산테크노파크"].target == 60
    assert by_agency["UNIST"].target is None and by_agency["UNIST"].rate is None
    # Trainees count records (30 completions by 8 people), not companies.
    assert rep.total("trainees").actual == 30
    # 2025 records stay out of 2026.
    assert all(r.actual <= 40 for r in rep.select("total", indicator="diagnosis"))
    # A target with no records yet shows 0 against the target.
    assert rep.total("incubation").actual == 0 and rep.total("incubation").target == 30


def test_total_target_is_derived_from_agency_targets_when_missing() -> None:
    recs = program_year()
    only_agency = [t for t in targets() if t.agency is not None]
    row = rollup(recs, only_agency, year=2026).total("solution")
    assert row.target == 20 and row.target_derived and row.actual == 12


def test_records_are_never_counted_twice_and_typos_fail() -> None:
    recs = program_year()
    assert rollup(recs + recs[:10], targets(), year=2026).total("diagnosis").actual == 40
    with pytest.raises(KPIError, match="diagnossis"):
        rollup([KPIRecord(2026, "diagnossis", "x", "y", make_brn(1))], [], year=2026)
    with pytest.raises(KPIError, match="Duplicate target"):
        rollup([], [KPITarget(2026, "solution", 1), KPITarget(2026, "solution", 2)], year=2026)
    with pytest.raises(KPIError):
        rollup([KPIRecord(2026, "solution", "x", "y", "12345")], [], year=2026)


def test_multi_year_rollup() -> None:
    rep = rollup(program_year(), targets(), years=[2025, 2026])
    assert rep.total("diagnosis", 2025).actual == 1
    assert rep.total("diagnosis", 2026).actual == 40


def test_kpi_excel_export(tmp_path: Path) -> None:
    rep = rollup(program_year(), targets(), year=2026)
    steps: list[float] = []
    path = export_kpi_xlsx(rep, tmp_path / "kpi.xlsx", progress=lambda _m, f: steps.append(f))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["요약 Summary", "기관별 By agency", "트랙별 By track"]
    ws = wb["요약 Summary"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "연도 / Year"
    diag = next(r for r in rows[1:] if str(r[1]).startswith("AI 진단"))
    assert diag[4] == 150 and diag[5] == 40 and diag[6] == pytest.approx(40 / 150, abs=1e-4)
    assert len(ws._charts) == 1
    agency_rows = list(wb["기관별 By agency"].iter_rows(values_only=True))[1:]
    assert {r[2] for r in agency_rows} >= set(AGENCIES)
    assert steps[-1] == 1.0


def test_kpi_pdf_export_has_hangul(tmp_path: Path) -> None:
    rep = rollup(program_year(), targets(), year=2026)
    data = export_kpi_pdf(rep, tmp_path / "kpi.pdf")
    assert (tmp_path / "kpi.pdf").read_bytes() == data
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    for expected in ("제조 AI 지원사업 성과 지표 2026", "AI 진단·컨설팅", "울산테크노파크", "26.7%"):
        assert expected in text


def test_comparison_group_one_row_per_company_per_year(tmp_path: Path) -> None:
    companies = [
        CompanyProfile(make_brn(i), f"기업{i}", "울산 남구", 20 + i, "C29", support_history=())
        for i in range(4)
    ]
    support = [
        SupportRecord(
            "s1", make_brn(0), "울산테크노파크", "solution", 2025, "solution:inspection", amount_krw=5
        ),
        SupportRecord("s2", make_brn(0), "UNIST", "demonstration", 2026, "demonstration", amount_krw=7),
        SupportRecord("s3", make_brn(1), "UNIST", "diagnosis", 2026, "diagnosis", amount_krw=1),
    ]
    outcomes = [
        OutcomeRecord(make_brn(0), 2025, "defect_rate", 3.0, 2.0, 2.4),
        OutcomeRecord(make_brn(2), 2026, "sales", 100, 110, 104),  # comparison company, never supported
    ]
    rows = comparison_group_rows(companies, support, outcomes, years=[2024, 2025, 2026])
    assert len(rows) == 12
    assert len({(r.brn, r.year) for r in rows}) == 12
    r0 = {r.year: r for r in rows if r.brn == make_brn(0)}
    assert [r0[y].supported for y in (2024, 2025, 2026)] == [False, True, True]
    assert [r0[y].ever_supported for y in (2024, 2025, 2026)] == [False, True, True]
    assert r0[2026].tracks == ("demonstration",) and r0[2026].support_amount_krw == 7
    assert r0[2025].outcomes["defect_rate"] == 2.4 and r0[2024].first_support_year == 2025
    r2 = [r for r in rows if r.brn == make_brn(2)]
    assert not any(r.ever_supported for r in r2) and r2[2].outcomes["sales"] == 104
    assert outcome_progress(outcomes[0]) == 0.6
    with pytest.raises(KPIError, match="unlisted"):
        comparison_group_rows(companies[1:], support, outcomes, years=[2026])

    csv_path = export_comparison_csv(rows, tmp_path / "cmp.csv")
    with csv_path.open(encoding="utf-8-sig") as f:
        read = list(csv.DictReader(f))
    assert len(read) == 12 and read[0]["name"] == "기업0" and "defect_rate" in read[0]
    xlsx = export_comparison_xlsx(rows, tmp_path / "cmp.xlsx")
    ws = openpyxl.load_workbook(xlsx).active
    assert ws.max_row == 13 and ws.cell(1, 1).value == "사업자등록번호 / BRN"


def test_full_scale_sample_year_has_enough_distinct_companies() -> None:
    """Scale 1.0 needs more companies than two-part names exist (it used to loop for ever)."""
    from aion.program.sample import sample_program_year

    s = sample_program_year(2026, scale=1.0)
    assert len({c.name for c in s.companies}) == len(s.companies) > 140
    assert len({c.brn for c in s.companies}) == len(s.companies)
