"""``aion compute``: the scheduler simulation (job commands come with the web app's database)."""

from __future__ import annotations

import dataclasses
import json
import sys

import typer

app = typer.Typer(no_args_is_help=True, help="Jobs on shared compute. / 공유 컴퓨팅 작업.")


@app.callback()
def _group() -> None:
    """Jobs on shared compute. / 공유 컴퓨팅 작업."""


@app.command()
def simulate(
    companies: int = typer.Option(50, min=1, help="Companies sharing the cluster."),
    jobs: int = typer.Option(1000, min=1, help="Jobs submitted over the day."),
    hours: float = typer.Option(24.0, min=0.1, help="Simulated hours."),
    seed: int = typer.Option(7, help="Random seed."),
    queue_size: int = typer.Option(1000, min=1, help="Queued jobs during the decision-time measurement."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Simulate a day of unequal demand with the real scheduler.

    불균등 수요의 하루를 실제 스케줄러로 모의 실행합니다.
    """
    from rich.console import Console
    from rich.progress import Progress

    from aion.platform.compute.simulator import SimConfig, simulate

    cfg = SimConfig(companies=companies, jobs=jobs, hours=hours, seed=seed, queue_size=queue_size)
    err = Console(stderr=True)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("simulate / 모의 실행", total=1.0)
        result = simulate(cfg, progress=lambda _stage, frac: bar.update(task, completed=frac))
    data = dataclasses.asdict(result)
    data["shares"] = [s._asdict() for s in result.shares]
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
        return
    out = Console()
    out.print(f"노드 / nodes: {result.nodes} ({result.cpus:g} CPU, {result.gpus:g} GPU)")
    out.print(f"decision_ms_p99: {result.decision_ms_p99:.3f}  (목표 / target < 100, {queue_size} queued)")
    out.print(f"max_share_error: {result.max_share_error:.4f}  (목표 / target < 0.05)")
    out.print(f"충분한 수요 회사 / companies with enough demand: {result.companies_with_enough_demand}")
    for key in (
        "max_share_rel_error",
        "sim_decision_ms_p99",
        "jobs_started",
        "jobs_completed",
        "preemptions",
    ):
        out.print(f"{key}: {data[key]:.4g}" if isinstance(data[key], float) else f"{key}: {data[key]}")
