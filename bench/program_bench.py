"""Program operations over the database: a full-size program year (scale 1.0: 150 diagnoses,
100 solutions, ...) stored by the demo loader, then the operations people wait for.

    PYTHONPATH=. python bench/program_bench.py [--scale 1.0] [--postgres URL]

Prints medians of a few runs; run on a quiet machine for speed figures.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from aion.accounts import service as accounts
from aion.accounts.models import Agency, Role
from aion.core import migrate
from aion.core.db import make_engine, system_session
from aion.core.security import configure_hasher
from aion.demo import AGENCIES
from aion.program.demo import load_demo
from aion.program.models import Application, Diagnosis, ProgramCall
from aion.program.service import diagnoses, kpi, review


def timed(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--postgres", default="")
    args = ap.parse_args()
    configure_hasher(time_cost=1, memory_cost=1024, parallelism=1)
    tmp = Path(tempfile.mkdtemp())
    url = args.postgres or f"sqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    with system_session(engine, actor="bench") as s:
        for name, short, lead in AGENCIES:
            s.add(Agency(name=name, short_name=short, is_lead=lead))
        s.flush()
        accounts.create_user(s, "c@bench.example", Role.CONSULTANT, "bench-password-1", name="컨설턴트")
        accounts.create_user(s, "e@bench.example", Role.EVALUATOR, "bench-password-1", name="평가위원")
        load_demo(s, year=2026, scale=args.scale)
    load_s = time.perf_counter() - t0
    with system_session(engine, actor="bench") as s:
        n_apps = s.scalar(select(func.count(Application.id)))
        n_diag = s.scalar(select(func.count(Diagnosis.id)))
        biggest = max(s.scalars(select(ProgramCall)), key=lambda c: len(review.reviewable(s, c)))
        n_big = len(review.reviewable(s, biggest))
        d = s.scalars(select(Diagnosis).where(Diagnosis.assessor == "consultant")).first()
        assert d is not None
        rows = [
            ("load a program year (demo loader)", load_s),
            (
                f"ranking of one call ({n_big} applications, 3 evaluators each)",
                timed(lambda: review.ranking(s, biggest)),
            ),
            ("KPI roll-up from the database", timed(lambda: kpi.report(s, 2026))),
            ("KPI Excel export", timed(lambda: kpi.write_xlsx(s, 2026, tmp / "kpi.xlsx"))),
            ("diagnosis report PDF (with baseline)", timed(lambda: diagnoses.report_pdf(s, d))),
        ]
    print(f"database: {engine.dialect.name}; scale {args.scale}: {n_apps} applications, {n_diag} diagnoses")
    for name, sec in rows:
        print(f"  {name:<60} {sec * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
