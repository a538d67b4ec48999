"""``aion process``: evaluate, train and score sensor anomaly models from the command line.

Heavy libraries (torch, scikit-learn) are imported inside the commands to keep ``aion --help`` fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(no_args_is_help=True, help="Process (sensor) anomaly detection. / 공정 센서 이상 감지.")


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[str, float], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet:
        yield lambda msg, frac: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task(label, total=1.0)

        def update(msg: str, frac: float) -> None:
            bar.update(task, completed=frac, description=f"{label}: {msg}")

        yield update


def _fail(e: Exception) -> None:
    typer.echo(f"오류 / Error: {e}", err=True)
    raise typer.Exit(code=2)


def _emit(obj: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=float) + "\n")
    else:
        for ln in lines:
            typer.echo(ln)


@app.command()
def evaluate(
    data_dir: Path = typer.Argument(
        ..., help="SKAB-format folder (or C-MAPSS folder with --benchmark cmapss)."
    ),
    benchmark: str = typer.Option("skab", help="skab | cmapss"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    train_rows: int = typer.Option(400, help="SKAB: rows at the start of each file used for training."),
    live: bool = typer.Option(
        False, "--live", help="SKAB: causal smoothing, as on a live stream (default: whole files)."
    ),
    nab_window: float = typer.Option(
        60.0, help="SKAB: NAB detection window in seconds, starting at each changepoint."
    ),
) -> None:
    """Evaluate on a benchmark folder with the published protocol. / 벤치마크 평가."""
    from aion.solutions.process.errors import ProcessError

    try:
        if benchmark == "skab":
            from aion.solutions.process.model import TrainConfig
            from aion.solutions.process.skab import evaluate_skab

            cfg = TrainConfig(centered=not live)
            with _progress("SKAB", as_json) as cb:
                r = evaluate_skab(data_dir, cfg, train_rows=train_rows, nab_window_s=nab_window, progress=cb)
            d = r.to_dict()
            keys = ("f1", "far", "mar", "nab_standard", "nab_low_fp", "nab_low_fn", "nab_edges_standard")
            out = {k: d[k] for k in keys}
            out["files"] = len(r.files)
            out["mode"] = "live" if live else "files"
            _emit(
                out,
                as_json,
                [
                    f"F1 {r.f1}  FAR {r.far}%  MAR {r.mar}%  (파일 {len(r.files)}개 / {len(r.files)} files)",
                    f"NAB standard {r.nab_standard}  low-FP {r.nab_low_fp}  low-FN {r.nab_low_fn}"
                    f"  (alarm edges: {r.nab_edges_standard})",
                ],
            )
        elif benchmark == "cmapss":
            from aion.solutions.process.rul import evaluate_cmapss

            with _progress("C-MAPSS FD001", as_json) as cb:
                rr = evaluate_cmapss(data_dir, progress=cb)
            _emit(
                rr.to_dict(), as_json, [f"RMSE {rr.rmse}  PHM08 {rr.phm_score}  (엔진 {rr.units}대 / units)"]
            )
        else:
            raise ProcessError(
                f"알 수 없는 벤치마크: {benchmark!r} (skab, cmapss) / Unknown benchmark {benchmark!r}"
            )
    except ProcessError as e:
        _fail(e)


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help="Sensor file: CSV, Excel or Parquet."),
    out: Path = typer.Option(..., "--out", help="Model file to write (*.aion)."),
    normal_start: str | None = typer.Option(None, help="Start of the normal period (row or time)."),
    normal_end: str | None = typer.Option(None, help="End of the normal period (row or time)."),
    target_far: float = typer.Option(0.01, help="Allowed false-alarm share on normal data."),
    detector: str = typer.Option(
        "auto", help="auto, robust_z, ewma, pca_t2_q, isolation_forest, conv_autoencoder"
    ),
    timestamp: str | None = typer.Option(None, help="Timestamp column (found automatically if omitted)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train a model on a normal period. / 정상 구간으로 모델 학습."""
    from aion.solutions.process.errors import ProcessError
    from aion.solutions.process.loading import load_sensor_file
    from aion.solutions.process.model import TrainConfig, propose_normal_period, train

    try:
        frame, report = load_sensor_file(data, timestamp_column=timestamp)
        period: tuple[Any, Any] | None = None
        if normal_start is not None or normal_end is not None:
            period = (_point(normal_start, 0), _point(normal_end, len(frame)))
        else:
            period = propose_normal_period(frame)
        with _progress("train", as_json) as cb:
            model = train(frame, period, TrainConfig(detector=detector, target_far=target_far), progress=cb)
        model.save(out)
    except ProcessError as e:
        _fail(e)
        return
    summary = model.summary() | {"model": str(out), "load_report": report.to_dict()}
    lines = [m for i in report.issues for m in [i.message]] + report.messages
    lines.append(f"저장됨 / Saved: {out}  정상 구간 / normal rows {model.normal_period}")
    _emit(summary, as_json, lines)


def _point(v: str | None, default: int) -> Any:
    if v is None:
        return default
    return int(v) if v.lstrip("-").isdigit() else v


@app.command()
def score(
    model_path: Path = typer.Argument(..., help="Model file from `aion process train`."),
    data: Path = typer.Argument(..., help="Sensor file to score."),
    as_json: bool = typer.Option(False, "--json"),
    target_far: float | None = typer.Option(None, help="Recalibrate limits for this false-alarm share."),
) -> None:
    """Score a file: alarms with the sensors that drove them. / 파일 점수화와 경보 설명."""
    from aion.solutions.process.errors import ProcessError
    from aion.solutions.process.loading import load_sensor_file
    from aion.solutions.process.model import ProcessModel

    try:
        model = ProcessModel.load(model_path)
        if target_far is not None:
            model = model.with_target_far(target_far)
        frame, report = load_sensor_file(data)
        result = model.score(frame)
    except ProcessError as e:
        _fail(e)
        return
    obj = result.to_dict() | {"load_report": report.to_dict()}
    lines = [f"경보 {len(result.alarms)}건 / {len(result.alarms)} alarms (threshold {result.threshold:.4g})"]
    lines += [f"- {a.message_ko}\n  {a.message_en}" for a in result.alarms]
    _emit(obj, as_json, lines)
