"""The simulated day drives the real scheduler; its fairness figure is checked, not its timing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aion.platform.compute.cli import app
from aion.platform.compute.simulator import SimConfig, simulate


def test_full_size_day_keeps_shares_close_to_weights() -> None:
    r = simulate(SimConfig(companies=50, jobs=1000, hours=24, decision_samples=50))
    assert r.companies_with_enough_demand >= 5  # the measurement is about something
    assert r.max_share_error < 0.05
    for s in r.shares:
        assert s.backlogged >= 0.99
    assert sum(s.target for s in r.shares) == 1.0 or abs(sum(s.target for s in r.shares) - 1.0) < 1e-9
    assert r.preemptions > 0  # demo jobs did preempt
    assert r.jobs_started >= r.jobs_completed > 0


def test_cli_prints_one_json_object() -> None:
    result = CliRunner().invoke(
        app,
        ["simulate", "--companies", "8", "--jobs", "120", "--hours", "4", "--queue-size", "100", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"decision_ms_p99", "max_share_error", "companies_with_enough_demand"} <= set(data)
    assert data["decision_ms_p99"] > 0
