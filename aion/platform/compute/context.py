"""What a running job sees: a small API to log lines, report progress and record metrics.

>>> events = []
>>> ctx = JobContext(events.append)
>>> ctx.log("epoch 1")
>>> ctx.progress(0.5, "half way")
>>> ctx.metric("loss", 0.25)
>>> [e["t"] for e in events]
['log', 'progress', 'metric']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from aion.platform.compute.errors import ComputeError

Event = dict[str, Any]


class JobContext:
    """Passed as the first argument to a job's entrypoint; every call becomes one event."""

    def __init__(self, emit: Callable[[Event], None], should_stop: Callable[[], bool] | None = None) -> None:
        self.emit = emit
        self.should_stop = should_stop

    def log(self, line: str) -> None:
        self.emit({"t": "log", "line": str(line)})

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit({"t": "progress", "value": max(0.0, min(1.0, float(fraction))), "message": message})

    def metric(self, name: str, value: float) -> None:
        self.emit({"t": "metric", "name": name, "value": float(value)})

    @property
    def stopping(self) -> bool:
        """True once the job was asked to stop (cooperative cancel)."""
        return bool(self.should_stop and self.should_stop())


def resolve(entrypoint: str) -> Callable[..., Any]:
    """Import ``"module:function"``."""
    module_name, sep, attr = entrypoint.partition(":")
    if not sep or not module_name or not attr:
        raise ComputeError(
            f"잘못된 진입점: {entrypoint!r} ('모듈:함수' 형식) / "
            f"Bad entrypoint: {entrypoint!r} (expected 'module:function')"
        )
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ComputeError(f"진입점을 찾을 수 없음: {entrypoint} / Entrypoint not found: {entrypoint}") from e
    if not callable(fn):
        raise ComputeError(f"호출할 수 없는 진입점: {entrypoint} / Entrypoint is not callable: {entrypoint}")
    return fn  # type: ignore[no-any-return]


def run_entrypoint(entrypoint: str, params: Mapping[str, Any], ctx: JobContext) -> dict[str, float]:
    """Call the job function and return its final metrics (a mapping, or nothing)."""
    result = resolve(entrypoint)(ctx, **dict(params))
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise ComputeError(
            f"작업 함수는 지표 dict를 반환해야 함: {type(result).__name__} / "
            f"A job function must return a mapping of metrics, got {type(result).__name__}"
        )
    return {str(k): float(v) for k, v in result.items()}
