"""Small job functions for demonstrations, tests and smoke checks of an executor.

>>> from aion.platform.compute.context import JobContext
>>> count(JobContext(lambda e: None), n=3, sleep_s=0.0)
{'count': 3.0}
"""

from __future__ import annotations

import time
from pathlib import Path

from aion.platform.compute.context import JobContext


def count(ctx: JobContext, n: int = 5, sleep_s: float = 0.05, rest_s: float = 0.0) -> dict[str, float]:
    """Count to ``n``, logging each step and reporting progress, then rest ``rest_s`` seconds."""
    for i in range(1, n + 1):
        if ctx.stopping:
            break
        time.sleep(sleep_s)
        ctx.log(f"step {i}/{n}")
        ctx.progress(i / n, f"step {i}")
        ctx.metric("last_step", i)
    end = time.monotonic() + rest_s
    while time.monotonic() < end and not ctx.stopping:
        time.sleep(0.02)
    return {"count": float(n)}


def sleep(ctx: JobContext, seconds: float = 60.0) -> dict[str, float]:
    """Sleep (in short naps) until done or stopped; used to test cancel and preemption."""
    ctx.log("sleeping")
    end = time.monotonic() + seconds
    while time.monotonic() < end and not ctx.stopping:
        time.sleep(0.05)
    return {"slept": seconds}


def flaky(ctx: JobContext, counter: str, fail_times: int = 1) -> dict[str, float]:
    """Fail the first ``fail_times`` attempts (counted in the file ``counter``), then succeed."""
    path = Path(counter)
    seen = int(path.read_text()) if path.exists() else 0
    path.write_text(str(seen + 1))
    ctx.log(f"attempt {seen + 1}")
    if seen < fail_times:
        raise RuntimeError(f"planned failure {seen + 1} of {fail_times}")
    return {"attempts": float(seen + 1)}
