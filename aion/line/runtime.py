"""Assemble a running line from its configuration: broker, connectors, store, buffer, rules.

``build_pipeline`` is what ``aion line run`` and the web app call; models plug in through
``scorers`` (machine name -> :class:`~aion.line.scoring.Scorer`) and ``image_scorer`` (by
default the inspection station of the camera sources that name a model, ``station.py``), and
models deployed from the registry through the line folder's ``models/deployed.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from aion.line.alarms import AlarmManager
from aion.line.broker import EmbeddedBroker
from aion.line.buffer import DiskBuffer
from aion.line.config import LineConfig
from aion.line.connectors import make_connector
from aion.line.errors import LineConfigError
from aion.line.notify import Notifier, SmtpNotifier, WebhookNotifier
from aion.line.pipeline import Pipeline, load_state
from aion.line.scoring import DeployedScorer, ImageScorer, RulesScorer, Scorer
from aion.line.station import station_for
from aion.line.store import open_store
from aion.line.writeback import Interlock, WriteBack

#: The score of a deployed model at its own alarm limit (models deployed from the registry are
#: scaled so); score alarms start there when the line sets no ``score_threshold``.
MODEL_SCORE_LIMIT = 1.0


def embedded_brokers(cfg: LineConfig) -> list[EmbeddedBroker]:
    """Embedded brokers the configuration asks for (``url: embedded://HOST:PORT``), not started."""
    urls = {str(s.options.get("url", "")) for s in cfg.sources} | {
        str(a.options.get("url", "")) for a in cfg.actions
    }
    out = []
    for url in sorted(u for u in urls if u.startswith("embedded")):
        u = urlparse(url)
        out.append(EmbeddedBroker(u.hostname or "127.0.0.1", u.port or 1884))
    return out


def make_notifiers(cfg: LineConfig) -> list[Notifier]:
    out: list[Notifier] = []
    for n in cfg.notifications:
        if n.kind == "webhook":
            out.append(WebhookNotifier(min_interval_s=n.min_interval_s, **n.options))
        else:
            out.append(SmtpNotifier(min_interval_s=n.min_interval_s, **n.options))
    return out


def build_pipeline(
    cfg: LineConfig,
    data_dir: Path,
    scorers: Mapping[str, Scorer] | None = None,
    image_scorer: ImageScorer | None = None,
    score_threshold: float | None = None,
) -> Pipeline:
    line_dir = data_dir / cfg.line
    line_dir.mkdir(parents=True, exist_ok=True)
    state_path = line_dir / "state.json"
    states = load_state(state_path)
    store = open_store(cfg.store, line_dir)
    connectors = [make_connector(s, cfg, states.get(s.name)) for s in cfg.sources]
    if image_scorer is None:  # camera sources that name an inspection model (station.py)
        try:
            image_scorer = station_for(connectors, line_dir)
        except LineConfigError:  # a model file that cannot be opened: nothing stays open
            for c in connectors:
                c.close()
            store.close()
            raise
    alarms = AlarmManager(cfg.line, cfg.tags, score_threshold, store.alarms(cfg.line, active_only=True))
    interlock = Interlock(line_dir / "interlock.json", cfg.line)

    def models_changed(any_model: bool) -> None:
        # deployed models score 1.0 at their alarm limit: alarm from there unless told otherwise
        if score_threshold is None:
            alarms.score_threshold = MODEL_SCORE_LIMIT if any_model else None

    scorer = DeployedScorer(RulesScorer(cfg.tags), line_dir, scorers, on_change=models_changed)
    return Pipeline(
        cfg.line,
        connectors,
        store,
        DiskBuffer(line_dir / "buffer.sqlite", int(cfg.buffer_max_mb * 1024 * 1024)),
        scorer,
        alarms,
        image_scorer=image_scorer,
        writeback=WriteBack(cfg.line, cfg.actions, interlock, store.write_audit) if cfg.actions else None,
        notifiers=make_notifiers(cfg),
        state_path=state_path,
        retention_days=cfg.store.get("retention_days"),
    )


def run_line(cfg: LineConfig, data_dir: Path, stop: threading.Event, start_brokers: bool = True) -> None:
    """Run a line until ``stop`` is set (the ``aion line run`` command)."""
    brokers = embedded_brokers(cfg) if start_brokers else []
    for b in brokers:
        b.start()
    pipeline = build_pipeline(cfg, data_dir)
    try:
        pipeline.run(stop)
    finally:
        pipeline.close()
        for b in brokers:
            b.stop()
