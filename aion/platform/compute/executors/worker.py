"""The process the local executor starts for one run: ``python -m ...worker RUN_DIR``.

It reads ``spec.json``, calls the entrypoint, appends progress and metrics to ``events.jsonl``,
prints log lines to its stdout (the executor points it at ``log.txt``), and finally writes
``result.json`` atomically. SIGTERM stops the job and records it as cancelled.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any


class _Stop(BaseException):
    """Raised in the job's thread when SIGTERM arrives."""


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def main(run_dir: str) -> int:
    from aion.platform.compute.context import JobContext, run_entrypoint

    root = Path(run_dir)
    spec = json.loads((root / "spec.json").read_text(encoding="utf-8"))
    events = (root / "events.jsonl").open("a", encoding="utf-8")
    stop = {"asked": False}

    def on_term(signum: int, frame: FrameType | None) -> None:
        if not stop["asked"]:
            stop["asked"] = True
            raise _Stop()

    signal.signal(signal.SIGTERM, on_term)

    def emit(event: dict[str, Any]) -> None:
        if event["t"] == "log":
            print(event["line"], flush=True)
        else:
            events.write(json.dumps(event) + "\n")
            events.flush()

    ctx = JobContext(emit, should_stop=lambda: stop["asked"])
    result: dict[str, Any]
    try:
        metrics = run_entrypoint(spec["entrypoint"], spec.get("params", {}), ctx)
        result = {"state": "succeeded", "metrics": metrics}
    except _Stop:
        result = {"state": "cancelled", "error": "cancelled / 취소됨"}
    except BaseException as e:  # the job's own failure, reported, never re-raised
        traceback.print_exc()
        sys.stdout.flush()
        result = {"state": "failed", "error": f"{type(e).__name__}: {e}"}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    events.close()
    write_json_atomic(root / "result.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
