"""The live demo lines: a simulated SKAB-like pump, and a camera over a press line's brackets,
flowing through the real pipeline.

``load_demo`` writes the demo pump line (machines, tags, limits) for a company, and
``load_station_demo`` a press line whose camera source watches a folder in the line's own folder
(an inspection station with no model yet: the demo's inspection data set trains one, and its
page deploys it to the machine ``station``). With ``AION_LINE_DEMO=1`` (``make run`` sets it)
the web app starts, in background threads, the embedded MQTT broker on a free port, the pump
simulator publishing to it (a fault every minute: cavitation, then overheating), a demo camera
writing a bracket photo every few seconds (about one in six scratched; the newest
:data:`CAMERA_KEEP` kept), and the lines' pipelines, so the live pages show values, alarms and
inspected photos without any other command. The pump pair by hand::

    aion line simulate --broker mqtt://127.0.0.1:1883 --line demo --seconds 0
    aion line run aion-data/line/<key>/line.yaml
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.line import service
from aion.line.config import example_path, load_line, parse_line
from aion.line.models import Line

log = logging.getLogger("aion.line.demo")
DEMO_NAME = "demo"
STATION_NAME = "press"
FAULT_PERIOD_S, FAULT_LENGTH_S = 60.0, 20.0
#: The demo camera: a photo every this many seconds, one in this many scratched; photos kept.
PHOTO_EVERY_S, SCRATCH_ONE_IN, CAMERA_KEEP = 3.0, 6, 300


def load_demo(session: Session, company_id: int, data_dir: Path | None = None) -> Line:
    """The demo pump line for ``company_id`` (from the bundled ``pump.yaml``)."""
    line = service.apply_config(session, company_id, load_line(example_path()))
    if data_dir is not None:
        service.write_runtime(data_dir, line)
    return line


def load_station_demo(session: Session, company_id: int, data_dir: Path) -> Line:
    """The demo press line for ``company_id``: a camera source over ``<line folder>/camera``,
    whose photos are the readings of machine ``station`` (alarm above 0.5, an NG part)."""
    doc = {
        "line": STATION_NAME,
        "description": "브래킷 외관 검사 스테이션 (데모 카메라) / Bracket inspection station (demo camera)",
        "sources": [{"name": "cam", "kind": "camera", "folder": "", "camera": "station",
                     "settle_s": 0.3, "scan_interval": 0.5}],
        "machines": [{"name": "station", "tags": [{"name": "image", "source": "cam", "high": 0.5}]}],
    }  # fmt: skip
    line = service.apply_config(session, company_id, parse_line(doc))
    folder = service.line_dir(Path(data_dir).resolve(), line) / "camera"
    line.sources = [{**line.sources[0], "folder": str(folder)}]
    session.flush()
    service.write_runtime(Path(data_dir), line)
    return line


def demo_photo(seed: int) -> tuple[bytes, bool]:
    """A bracket surface photo like the demo data set's (PNG), and whether it is scratched."""
    from aion.platform.demo import demo_texture

    scratched = seed % SCRATCH_ONE_IN == SCRATCH_ONE_IN - 1
    return demo_texture(10_000 + seed, scratched), scratched


class DemoLine:
    """Broker, simulator and pipeline of the demo line, in threads of this process."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        rate_hz: float = 2.0,
        period_s: float = FAULT_PERIOD_S,
        length_s: float = FAULT_LENGTH_S,
        photo_every_s: float = PHOTO_EVERY_S,
    ) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.rate_hz = rate_hz
        self.period_s = period_s
        self.length_s = length_s
        self.photo_every_s = photo_every_s
        self.stop_ = threading.Event()
        self.threads_: list[threading.Thread] = []
        self.broker_: Any = None
        self.lock_: Any = None

    def _configs(self) -> dict[str, Any]:
        """The demo lines there are (the first of each demo name), their runtime files written."""
        from aion.core.db import system_session

        out: dict[str, Any] = {}
        with system_session(self.engine, actor="line-demo") as s:
            stmt = select(Line).where(Line.name.in_([DEMO_NAME, STATION_NAME])).order_by(Line.id)
            for line in s.scalars(stmt):
                if line.name in out:
                    continue
                if line.name == STATION_NAME and self._camera_folder(line) is None:
                    continue  # a press line of the user's own: not the demo's to run
                service.write_runtime(self.data_dir, line)
                out[line.name] = service.to_config(line, self.data_dir)
        return out

    def _camera_folder(self, line: Line) -> Path | None:
        """The demo camera's folder, when the line's camera source watches it (and only then)."""
        folder = service.line_dir(self.data_dir.resolve(), line) / "camera"
        for src in line.sources or []:
            if src.get("kind") == "camera" and Path(str(src.get("folder", ""))) == folder:
                return folder
        return None

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
        cfgs = self._configs()
        if not cfgs:
            log.warning("데모 라인 없음 / No demo line in the database (aion demo load)")
            return False
        pump = cfgs.get(DEMO_NAME)
        if pump is not None:
            self.broker_ = EmbeddedBroker().start()
            for src in pump.sources:
                if src.kind == "mqtt":
                    src.options["url"] = self.broker_.url
            for action in pump.actions:
                if action.kind == "mqtt_publish":
                    action.options["url"] = self.broker_.url
            self._spawn(self._simulate)
            self._spawn(self._run, pump)
            log.warning("데모 라인 실행 / Demo line running on %s", self.broker_.url)
        station = cfgs.get(STATION_NAME)
        if station is not None:
            camera = next(Path(src.options["folder"]) for src in station.sources if src.kind == "camera")
            self._spawn(self._camera, camera)
            self._spawn(self._run, station)
            log.warning("데모 검사 스테이션 실행 / Demo inspection station running on %s", camera)
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

    def _camera(self, folder: Path) -> None:
        """Write a demo photo every ``photo_every_s`` (whole, then renamed: the camera source
        takes only finished files), keeping the newest :data:`CAMERA_KEEP`."""
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob("*.png")))
        while not self.stop_.wait(self.photo_every_s):
            try:
                data, _ = demo_photo(n)
                tmp = folder / ".writing"
                tmp.write_bytes(data)
                os.replace(tmp, folder / f"bracket-{time.strftime('%Y%m%d-%H%M%S')}-{n:06d}.png")
                n += 1
                for old in sorted(folder.glob("*.png"))[:-CAMERA_KEEP]:
                    old.unlink(missing_ok=True)
            except OSError as e:  # the disk is full or the folder went away: try again later
                log.warning("demo camera: %s", e)

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
