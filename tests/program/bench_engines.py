"""Timings of the program engines (not a test; run by hand, numbers go to docs/program.md).

    .venv/bin/python tests/program/bench_engines.py [--records 100000]

Prints medians; there is no peer to compare with for these engines.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from aion.program.brn import brn_check_digit, validate_brn
from aion.program.diagnosis.compare import compare_assessments
from aion.program.diagnosis.questionnaire import load_questionnaire
from aion.program.diagnosis.recommend import diagnose
from aion.program.diagnosis.report import render_diagnosis_pdf
from aion.program.diagnosis.scoring import Assessment, score_assessment
from aion.program.kpi.export import export_kpi_pdf, export_kpi_xlsx
from aion.program.kpi.rollup import KPIRecord, default_targets, rollup


def median_s(fn: Callable[[], object], n: int = 5) -> float:
    xs = []
    for _ in range(n):
        s = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - s)
    return statistics.median(xs)


def brn(i: int) -> str:
    nine = f"{100 + i % 800:03d}81{i % 10000:04d}"
    return validate_brn(nine + str(brn_check_digit(nine)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(0)
    q = load_questionnaire()
    ids = q.question_ids()
    focus = frozenset({"defects", "cctv"})
    a0 = Assessment(brn(1), date(2026, 3, 2), "consultant", {i: rng.randrange(5) for i in ids}, focus)
    a1 = Assessment(brn(1), date(2026, 11, 2), "consultant", {i: rng.randrange(5) for i in ids}, focus)
    print(f"load questionnaire (YAML): {1000 * median_s(load_questionnaire):.1f} ms")
    print(f"diagnose (score, rules, fit, roadmap): {1000 * median_s(lambda: diagnose(q, a1), 50):.2f} ms")
    d = diagnose(q, a1)
    c = compare_assessments([score_assessment(q, a0), d.result])
    render_diagnosis_pdf(d, q, company_name="warm-up", comparison=c)  # font registration
    pdf_s = median_s(lambda: render_diagnosis_pdf(d, q, company_name="(주)한빛정밀", comparison=c))
    print(f"diagnosis PDF (fonts registered): {1000 * pdf_s:.0f} ms")
    indicators = ["diagnosis", "solution", "demonstration", "incubation"]
    recs = [
        KPIRecord(
            2026, rng.choice(indicators), rng.choice("ABCDE"), "t", brn(rng.randrange(5000)), source_id=str(k)
        )
        for k in range(args.records)
    ]
    roll_s = median_s(lambda: rollup(recs, default_targets(2026), year=2026), 3)
    print(f"KPI roll-up of {args.records} records: {1000 * roll_s:.0f} ms")
    rep = rollup(recs, default_targets(2026), year=2026)
    tmp = Path(tempfile.mkdtemp())
    print(f"KPI xlsx: {1000 * median_s(lambda: export_kpi_xlsx(rep, tmp / 'k.xlsx')):.0f} ms")
    print(f"KPI pdf: {1000 * median_s(lambda: export_kpi_pdf(rep, tmp / 'k.pdf')):.0f} ms")


if __name__ == "__main__":
    main()
