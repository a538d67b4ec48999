"""The live demo line: a simulated SKAB-like pump flowing through the real pipeline.

``load_demo`` writes the demo line (machines, tags, limits) for a company; with
``AION_LINE_DEMO=1`` (``make run`` sets it) the web app starts, in background threads, the
embedded MQTT broker on a free port, the pump simulator publishing to it (a fault every
minute: cavitation, then overheating) and the line's pipeline, so the live page shows values
and alarms without any other command. The same pair by hand::

    aion line simulate --broker mqtt://127.0.0.1:1883 --line demo --seconds 0
    aion line run aion-data/line/<key>/line.yaml
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.line import service
from aion.line.config import example_path, load_line
from aion.line.models import Line

log = logging.getLogger("aion.line.demo")
DEMO_NAME = "demo"
FAULT_PERIOD_S, FAULT_LENGTH_S = 60.0, 20.0


def load_demo(session: Session, company_id: int, data_dir: Path | None = None) -> Line:
    """The demo pump line for ``company_id`` (from the bundled ``pump.yaml``)."""
    line = service.apply_config(session, company_id, load_line(example_path()))
    if data_dir is not None:
        service.write_runtime(data_dir, line)
    return line


class DemoLine:
    """Broker, simulator and pipeline of the demo line, in threads of this process."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        rate_hz: float = 2.0,
        period_s: float = FAULT_PERIOD_S,
        length_s: float = FAULT_LENGTH_S,
    ) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.rate_hz = rate_hz
        self.period_s = period_s
        self.length_s = length_s
        self.stop_ = threading.Event()
        self.threads_: list[threading.Thread] = []
        self.broker_: Any = None
        self.lock_: Any = None

    def _config(self) -> Any:
        from aion.core.db import system_session

        with system_session(self.engine, actor="line-demo") as s:
            line = s.scalars(select(Line).where(Line.name == DEMO_NAME).order_by(Line.id)).first()
            if line is None:
                return None
            service.write_runtime(self.data_dir, line)
            return service.to_config(line, self.data_dir)

    def _take_lock(self) -> bool:
        """One demo per data directory, even with several web workers or apps."""
        import fcntl

        path = self.data_dir / "line" / "demo.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_ = path.open("w")
        try:
            fcntl.flock(self.lock_, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.lock_.close()
            self.lock_ = None
            return False
        return True

    def start(self) -> bool:
        from aion.line.broker import EmbeddedBroker

        if not self._take_lock():
            log.warning("데모 라인은 다른 프로세스에서 실행 중 / The demo line runs in another process")
            return False
        cfg = self._config()
        if cfg is None:
            log.warning("데모 라인 없음 / No demo line in the database (aion demo load)")
            return False
        self.broker_ = EmbeddedBroker().start()
        for src in cfg.sources:
            if src.kind == "mqtt":
                src.options["url"] = self.broker_.url
        for action in cfg.actions:
            if action.kind == "mqtt_publish":
                action.options["url"] = self.broker_.url
        self._spawn(self._simulate)
        self._spawn(self._run, cfg)
        log.warning("데모 라인 실행 / Demo line running on %s", self.broker_.url)
        return True

    def _spawn(self, target: Any, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=f"line-demo-{target.__name__}", daemon=True)
        t.start()
        self.threads_.append(t)

    def _simulate(self) -> None:
        from aion.line.simulate import publish_pump

        while not self.stop_.is_set():
            try:
                publish_pump(self.broker_.url, DEMO_NAME, ("pump1",), self.rate_hz, stop=self.stop_.is_set,
                             period_s=self.period_s, length_s=self.length_s)  # fmt: skip
            except OSError:
                self.stop_.wait(1.0)

    def _run(self, cfg: Any) -> None:
        from aion.line.runtime import build_pipeline

        pipeline = build_pipeline(cfg, self.data_dir / "line")
        try:
            pipeline.run(self.stop_)
        finally:
            pipeline.close()

    def stop(self) -> None:
        self.stop_.set()
        for t in self.threads_:
            t.join(10)
        if self.broker_ is not None:
            self.broker_.stop()
        if self.lock_ is not None:
            self.lock_.close()  # releases the lock


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Router lifespan: runs the demo line while the app runs, when ``AION_LINE_DEMO=1``."""
    demo = None
    if os.environ.get("AION_LINE_DEMO") == "1":
        demo = DemoLine(app.state.engine, Path(app.state.settings.data_dir))
        try:
            if not demo.start():
                demo = None
        except Exception:  # a demo must never keep the app from starting
            log.exception("데모 라인 시작 실패 / The demo line did not start")
    try:
        yield
    finally:
        if demo is not None:
            demo.stop()
