"""File replay (CSV or Parquet) at real or accelerated speed, for demos and the showroom.

The time column (``ts``, ``timestamp``, ``datetime`` or ``time``) paces the rows; every other
numeric column is a tag of ``machine``. With ``rebase`` the first row is stamped at the start
of the replay, so a demo looks live; the origin is part of the resume state, so a restart
stamps re-read rows identically and they are stored once. ``speed`` 0 means as fast as possible.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion.line.connectors.base import Connector
from aion.line.errors import ConnectorError
from aion.line.model import Batch, Reading

TIME_COLUMNS = ("ts", "timestamp", "datetime", "time")


def read_table(path: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Times (Unix seconds), tag columns and the value matrix of a CSV/Parquet file."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            with path.open(encoding="utf-8") as f:
                head = f.readline()
            df = pd.read_csv(path, sep=";" if head.count(";") > head.count(",") else ",")
    except (OSError, ValueError) as e:
        raise ConnectorError(f"재생 파일을 읽을 수 없음: {path} / Cannot read replay file {path}: {e}") from e
    tcol = next((c for c in df.columns if str(c).lower() in TIME_COLUMNS), None)
    if tcol is None:
        raise ConnectorError(
            f"시간 열 없음: {path} / No time column in {path}; expected one of {', '.join(TIME_COLUMNS)}"
        )
    col = df[tcol]
    if pd.api.types.is_numeric_dtype(col):
        times = col.to_numpy(dtype=float)
    else:
        times = pd.to_datetime(col).astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
    tags = [str(c) for c in df.columns if c != tcol and pd.api.types.is_numeric_dtype(df[c])]
    return times, tags, df[tags].to_numpy(dtype=float)


class ReplayConnector(Connector):
    kind = "replay"

    def __init__(
        self,
        name: str,
        path: str | Path,
        machine: str = "",
        speed: float = 1.0,
        rebase: bool = True,
        loop: bool = False,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
        self.path = Path(path)
        self.machine = machine
        self.speed = speed
        self.rebase = rebase
        self.loop = loop
        self.times_, self.tags_, self.values_ = read_table(self.path)
        st = state or {}
        self.offset_ = self.committed_ = int(st.get("offset", 0))
        self.origin_ = float(st.get("origin", time.time()))  # wall time of row 0
        self.started_ = time.monotonic()
        self.start_offset_ = self.offset_
        self.connected_ = True

    @property
    def done(self) -> bool:
        return not self.loop and self.offset_ >= len(self.times_)

    def _due(self) -> int:
        """Absolute row index (over loops) that is due now."""
        n = len(self.times_)
        if self.speed <= 0 or n == 0:
            return 1 << 62
        span = float(self.times_[-1] - self.times_[0]) + (
            float(np.median(np.diff(self.times_))) if n > 1 else 1.0
        )
        elapsed = (time.time() - self.origin_) * self.speed
        loops, rest = divmod(elapsed, span) if span > 0 else (0.0, 0.0)
        return int(loops) * n + int(np.searchsorted(self.times_ - self.times_[0], rest, side="right"))

    def next_batch(self, max_items: int = 1000) -> Batch:
        n = len(self.times_)
        out = Batch()
        if n == 0:
            return out
        limit = self._due() if self.loop else min(self._due(), n)
        prefix = f"{self.machine}." if self.machine else ""
        span = float(self.times_[-1] - self.times_[0]) + (
            float(np.median(np.diff(self.times_))) if n > 1 else 1.0
        )
        while self.offset_ < limit and len(out.readings) + len(self.tags_) <= max(max_items, len(self.tags_)):
            loop, i = divmod(self.offset_, n)
            t = float(self.times_[i])
            if self.rebase:
                t = self.origin_ + (t - self.times_[0] + loop * span) / (
                    self.speed if self.speed > 0 else 1.0
                )
            row = self.values_[i]
            for j, tag in enumerate(self.tags_):
                if np.isfinite(row[j]):
                    out.readings.append(Reading(prefix + tag, t, float(row[j]), self.offset_, self.name))
            self.offset_ += 1
        return self._count(out)

    def commit(self) -> None:
        self.committed_ = self.offset_

    def snapshot(self) -> dict[str, Any]:
        return {"offset": self.committed_, "origin": self.origin_}

    def close(self) -> None:
        self.connected_ = False
