"""The ``train_process`` job function (run by the platform's executors): files in, files out."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aion.platform.compute.context import JobContext
from aion.platform.storage.factory import fetch_input, publish_outputs


def train_process(
    ctx: JobContext,
    blob: str | dict[str, Any],
    filename: str,
    out: str,
    scores_out: str,
    normal: list[int] | None,
    config: dict[str, Any],
    meta: dict[str, Any] | None = None,
    store: str | None = None,
    out_ref: str | None = None,
) -> dict[str, float]:
    """Train a process model on one sensor file; write the model (``out``) and its stored scores.

    ``normal``: rows ``[start, end)`` of the normal period (the platform proposes one when None).
    """
    from aion.process.engine import score_and_store
    from aion.solutions.process.loading import load_sensor_file
    from aion.solutions.process.model import TrainConfig, train

    work = Path(tempfile.mkdtemp(prefix="aion-process-"))
    try:
        local = work / f"data{Path(filename).suffix.lower() or '.csv'}"
        fetch_input(store, blob if isinstance(blob, dict) else {"blob": blob}, local)  # through the store
        ctx.progress(0.02, "load")
        frame, report = load_sensor_file(local)
        ctx.log(f"loaded {len(frame)} rows x {len(frame.columns)} sensors: {', '.join(frame.columns)}")
        for note in report.to_dict().get("messages", []):
            ctx.log(str(note))

        def progress(stage: str, fraction: float) -> None:
            ctx.progress(0.05 + 0.8 * fraction, stage)
            if ctx.stopping:
                raise InterruptedError("cancelled")

        cfg = TrainConfig(**config)
        period = (int(normal[0]), int(normal[1])) if normal else None
        model = train(frame, period, cfg, progress=progress)
        ctx.progress(0.9, "score")
        stored = score_and_store(model, frame)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        stored.save(scores_out)
        _, alarms, _ = stored.alarms()
        summary = model.summary()
        Path(out + ".report.json").write_text(json.dumps(summary, default=str), encoding="utf-8")
        publish_outputs(store, out_ref, out, scores_out, out + ".report.json")  # for the web process
        metrics = {
            "threshold": float(model.policy.threshold or 0.0),
            "target_far": float(cfg.target_far),
            "rows": float(len(frame)),
            "sensors": float(len(frame.columns)),
            "normal_start": float(model.normal_period[0]),
            "normal_end": float(model.normal_period[1]),
            "alarms": float(len(alarms)),
        }
        for k, v in metrics.items():
            ctx.metric(k, v)
        ctx.log(
            f"normal period rows {model.normal_period}, threshold {metrics['threshold']:.4f}, "
            f"{len(alarms)} alarms"
        )
        ctx.progress(1.0, "done")
        return metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)
