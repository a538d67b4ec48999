"""``aion line``: run, simulate, apply, status, bench.

Heavy libraries (paho, asyncua, pymodbus, amqtt) are imported inside the commands.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer

from aion.line.config import data_dir, example_path, load_line
from aion.line.errors import LineError

app = typer.Typer(
    no_args_is_help=True, help="Line connection: real-time pipeline. / 라인 연결: 실시간 파이프라인."
)


def _fail(e: Exception) -> None:
    typer.echo(str(e), err=True)
    raise typer.Exit(2) from e


def _config_path(config: Path | None) -> Path:
    if config is not None:
        return config
    applied = sorted(data_dir().glob("*/line.yaml"))
    return applied[0] if len(applied) == 1 else example_path()


@app.command()
def apply(
    config: Path = typer.Argument(..., help="line.yaml"),
    company: str = typer.Option(
        "", "--company", help="Company id or name: write the line, machines and tags to the database."
    ),
) -> None:
    """Validate a line.yaml and save it (database with --company, else the data directory). / line.yaml 적용."""
    try:
        cfg = load_line(config)
    except LineError as e:
        _fail(e)
    if company:
        _apply_db(cfg, company)
        return
    target = data_dir() / cfg.line / "line.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, target)
    typer.echo(
        f"라인 '{cfg.line}' 적용: 소스 {len(cfg.sources)}, 설비 {len(cfg.machines)}, 태그 {len(cfg.tags)} -> {target}\n"  # noqa: E501
        f"Applied line '{cfg.line}': {len(cfg.sources)} sources, {len(cfg.machines)} machines, "
        f"{len(cfg.tags)} tags -> {target}"
    )


def _apply_db(cfg: Any, company: str) -> None:
    from sqlalchemy import select

    from aion.accounts.models import Company
    from aion.core.db import system_session
    from aion.line import service
    from aion.settings import get_settings

    with system_session(actor="cli") as session:
        where = Company.id == int(company) if company.isdigit() else Company.name == company
        org = session.scalars(select(Company).where(where)).one_or_none()
        if org is None:
            _fail(LineError(f"회사 없음: {company} / No company {company!r} (id or exact name)"))
            return
        line = service.apply_config(session, org.id, cfg)
        path = service.write_runtime(get_settings().data_dir, line)
        typer.echo(
            f"라인 '{cfg.line}' 적용 ({org.name}): 설비 {len(cfg.machines)}, 태그 {len(cfg.tags)}, id {line.id}\n"
            f"Applied line '{cfg.line}' for {org.name}: {len(cfg.machines)} machines, {len(cfg.tags)} tags "
            f"(id {line.id}); runtime config {path}; run it with: aion line run {path}"
        )


@app.command()
def run(
    config: Path | None = typer.Argument(None, help="line.yaml (default: the applied line, else the demo)"),
    demo: bool = typer.Option(False, help="Also run the pump simulator. / 펌프 시뮬레이터도 실행."),
    seconds: float = typer.Option(0.0, help="Stop after this many seconds (0: until Ctrl-C)."),
) -> None:
    """Run a line's pipeline until stopped. / 라인 파이프라인 실행."""
    from aion.line.runtime import run_line

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        cfg = load_line(_config_path(config))
    except LineError as e:
        _fail(e)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if seconds > 0:
        threading.Timer(seconds, stop.set).start()
    if demo:
        from aion.line.simulate import publish_pump

        url = next(
            (str(s.options.get("url")) for s in cfg.sources if s.kind == "mqtt"), "mqtt://127.0.0.1:1883"
        )

        def sim() -> None:
            time.sleep(2.0)  # the embedded broker starts first
            while not stop.is_set():
                try:
                    publish_pump(url, cfg.line, ("pump1",), rate_hz=2.0, stop=stop.is_set)
                except OSError:
                    stop.wait(1.0)

        threading.Thread(target=sim, daemon=True).start()
    typer.echo(f"라인 '{cfg.line}' 실행 중 / Running line '{cfg.line}' (Ctrl-C to stop)", err=True)
    try:
        run_line(cfg, data_dir(), stop)
    except LineError as e:
        _fail(e)


@app.command()
def simulate(
    broker: str = typer.Option("mqtt://127.0.0.1:1883", help="mqtt://HOST:PORT"),
    line: str = typer.Option("demo", help="Line name used in the topic."),
    machines: int = typer.Option(1, help="Number of pumps."),
    rate: float = typer.Option(1.0, help="Messages per second per pump."),
    seconds: float = typer.Option(60.0, help="Duration (0: until Ctrl-C)."),
    seed: int = typer.Option(0),
) -> None:
    """Publish a simulated SKAB-like pump with faults. / 고장이 있는 모의 펌프 데이터 발행."""
    from rich.progress import Progress

    from aion.line.simulate import publish_pump

    names = tuple(f"pump{i + 1}" for i in range(machines))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Progress(transient=True) as bar:
        task = bar.add_task("simulate", total=1.0)
        try:
            sent = publish_pump(
                broker,
                line,
                names,
                rate,
                seconds,
                seed,
                progress=lambda s, f: bar.update(task, completed=f),
                stop=stop.is_set,
            )
        except OSError as e:
            _fail(LineError(f"브로커 연결 실패: {broker} / Cannot reach broker {broker}: {e}"))
    typer.echo(f"발행 {sent}건 / Published {sent} messages to aion/{line}/<machine>/telemetry")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Show the state of each line in the data directory. / 라인 상태 표시."""
    out: dict[str, Any] = {}
    for state in sorted(data_dir().glob("*/state.json")):
        try:
            doc = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc["age_s"] = round(time.time() - float(doc.get("at", 0)), 1)
        out[state.parent.name] = doc
    if as_json:
        typer.echo(json.dumps(out))
        return
    if not out:
        typer.echo("실행된 라인 없음 / No line has run yet (aion line run)")
    for name, doc in out.items():
        st = doc.get("stats", {})
        running = "실행 중 / running" if doc["age_s"] < 5 else f"중지 / stopped ({doc['age_s']} s ago)"
        typer.echo(
            f"{name}: {running}; stored {st.get('stored')}, buffered now {st.get('buffer_rows')}, "
            f"rejected {st.get('rejected')}, alarms {st.get('alarms_raised')}, store up {st.get('store_up')}"
        )
        for c in doc.get("status", []):
            typer.echo(
                f"  {c['name']} ({c['kind']}): connected={c['connected']} received={c['received']} "
                f"rejected={c['rejected']} {c['last_error']}"
            )


@app.command()
def bench(
    broker: str = typer.Option("", help="mqtt://HOST:PORT (default: the embedded broker)."),
    messages: int = typer.Option(100_000, help="Messages of 8 readings each."),
    latency_rate: float = typer.Option(5000.0, help="Publish rate of the latency run (messages/s)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Measure throughput, latency, loss against a broker. / 처리량·지연·손실 측정."""
    from aion.line.bench import run_bench

    result = run_bench(
        broker, messages, latency_rate, progress=lambda s, f: typer.echo(f"[{f:4.0%}] {s}", err=True)
    )
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for k, v in result.items():
            typer.echo(f"{k}: {v}")
