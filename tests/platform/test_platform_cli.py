"""``aion dataset register`` and ``aion compute simulate`` as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.foundation.factories import World, make_world
from tests.platform.helpers import write_images

AION = [sys.executable, "-m", "aion"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(AION + args, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("AION_")}
    e.update(AION_DATA_DIR=str(tmp_path / "data"), AION_DATABASE_URL=db_url, AION_LOG_FORMAT="text")
    return e


def test_register_a_folder_all_or_nothing(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    world: World = make_world(engine)
    folder = write_images(tmp_path / "parts", n_ok=3, n_ng=1)
    ok = run(["dataset", "register", str(folder), "--company", str(world.company_a), "--name", "parts"], env)
    assert ok.returncode == 0, ok.stderr
    assert "v1: 4 files" in ok.stdout and "'ng': 1" in ok.stdout
    (folder / "ok" / "broken.png").write_bytes(b"not an image")
    (folder / "ok" / "more.png").write_bytes((folder / "ok" / "ok_000.png").read_bytes()[:-1] + b"\0")
    bad = run(["dataset", "register", str(folder), "--company", str(world.company_a), "--name", "parts"], env)
    assert bad.returncode == 2 and "ok/broken.png" in bad.stderr and "아무것도 저장하지" in bad.stderr
    listed = run(["dataset", "list"], env).stdout
    assert "parts\tv1 4 files" in listed  # still v1: nothing stored by the refused registration


def test_compute_simulate_meets_its_targets(env: dict[str, str]) -> None:
    out = run(["compute", "simulate", "--companies", "50", "--jobs", "1000", "--hours", "24", "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["decision_ms_p99"] < 100 and data["max_share_error"] < 0.05
