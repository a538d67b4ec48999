"""The ``aion`` command, run as a user runs it: a real process with its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AION = [sys.executable, "-m", "aion"]


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        AION + args, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("AION_")}
    e.update(AION_DATA_DIR=str(tmp_path / "data"), AION_DATABASE_URL=db_url, AION_LOG_FORMAT="text")
    return e


def test_cli_end_to_end(env: dict[str, str]) -> None:
    help_text = run(["--help"], env).stdout
    for group in ("db", "company", "user", "token", "demo", "serve"):
        assert group in help_text
    assert run(["db", "upgrade"], env).returncode == 0

    bad = run(["company", "create", "감마", "--brn", "220-81-62518"], env)
    assert bad.returncode == 1 and "220-81-62518" in bad.stderr and "검증번호" in bad.stderr

    ok = run(["company", "create", "감마정공", "--brn", "2208162517", "--industry", "기계"], env)
    assert ok.returncode == 0, ok.stderr
    dup = run(["company", "create", "감마2", "--brn", "220-81-62517"], env)
    assert dup.returncode == 1 and "already exists" in dup.stderr

    made = run(
        [
            "user",
            "create",
            "Kim@Gamma.example",
            "--role",
            "company_admin",
            "--company",
            "감마정공",
            "--password-stdin",
        ],
        env,
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    assert "Password" not in made.stdout  # nothing printed when the password came from stdin
    generated = run(["user", "create", "op@agency.example", "--role", "operator"], env)
    assert "Password (shown once):" in generated.stdout

    no_company = run(["user", "create", "x@y.example", "--role", "company_member"], env)
    assert no_company.returncode == 1 and "company" in no_company.stderr
    bad_role = run(["user", "create", "x@y.example", "--role", "boss"], env)
    assert bad_role.returncode == 1 and "company_member" in bad_role.stderr  # names the valid options

    listing = run(["user", "list"], env).stdout
    assert "kim@gamma.example\tcompany_admin\t감마정공" in listing and "op@agency.example" in listing

    token = run(["token", "create", "kim@gamma.example", "--name", "script"], env)
    assert token.returncode == 0 and token.stdout.strip().startswith("aion_")


def test_demo_load_is_idempotent_with_if_empty(env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    first = run(["demo", "load", "--if-empty"], env)
    assert first.returncode == 0, first.stderr
    assert "member@hanul-auto.example" in first.stdout and "operator@aion.example" in first.stdout
    second = run(["demo", "load", "--if-empty"], env)
    assert second.returncode == 0 and "already present" in second.stdout
    assert run(["demo", "load"], env).returncode == 1
    listing = run(["company", "list"], env).stdout
    # the two demo companies, plus the companies of the demo program year
    assert listing.count("\n") >= 2 and "(주)한울오토파츠" in listing and "태화석유화학(주)" in listing
