"""The pipeline: connectors -> quarantine -> scoring -> rules and alarms -> store or disk buffer.

One loop, one thread. For every connector: take a batch (never waiting), quarantine what was
refused, score the readings, evaluate the rules, then make the batch durable: into the store,
or, when the store is down, into the on-disk buffer. Only then is the connector told to
``commit`` (MQTT PUBACK, file offset). If even the buffer is full the batch is held and the
connector is not read again until it is durable: bounded queues upstream fill and the
sources slow down (backpressure), memory stays bounded. The buffer is replayed into the
store, paced, once a write succeeds again.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aion.line.alarms import AlarmEvent, AlarmManager
from aion.line.buffer import DiskBuffer
from aion.line.connectors.base import Connector
from aion.line.errors import BufferFull, LineError, StoreUnavailable
from aion.line.model import Alarm, Reject, Scored, build
from aion.line.notify import Notifier
from aion.line.scoring import ImageScorer, Scorer
from aion.line.store.base import TimeSeriesStore
from aion.line.writeback import WriteBack

log = logging.getLogger("aion.line")


GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Run the youngest collection every 50,000 allocations instead of Python's 700.

    At full speed the pipeline makes a few tuples per reading (hundreds of thousands a second)
    and none of them form reference cycles; with the default threshold the cyclic collector
    took a third of the pipeline's time (8-reading messages: 25.5 µs each, 18.4 µs with this).
    Memory is unaffected: reference counting still frees everything at once."""
    g0, g1, g2 = gc.get_threshold()
    if g0 < GC_GEN0_THRESHOLD:
        gc.set_threshold(GC_GEN0_THRESHOLD, g1, g2)


@dataclass
class PipelineStats:
    received: int = 0
    stored: int = 0
    already_stored: int = 0  # redeliveries the idempotent store dropped
    buffered: int = 0
    replayed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    alarms_raised: int = 0
    store_up: bool = True
    buffer_rows: int = 0
    held_batches: int = 0


class Pipeline:
    def __init__(
        self,
        line: str,
        connectors: Sequence[Connector],
        store: TimeSeriesStore,
        buffer: DiskBuffer,
        scorer: Scorer,
        alarms: AlarmManager | None = None,
        image_scorer: ImageScorer | None = None,
        writeback: WriteBack | None = None,
        notifiers: Sequence[Notifier] = (),
        state_path: str | Path | None = None,
        max_batch: int = 8000,
        replay_rows_per_s: float = 100_000.0,
        probe_interval_s: float = 1.0,
        retention_days: float | None = None,
        on_stored: Callable[[list[Scored]], None] | None = None,
        on_event: Callable[[AlarmEvent], None] | None = None,
    ) -> None:
        self.line = line
        self.connectors = list(connectors)
        self.store = store
        self.buffer = buffer
        self.scorer = scorer
        self.alarms = alarms
        self.image_scorer = image_scorer
        self.writeback = writeback
        self.notifiers = list(notifiers)
        self.state_path = Path(state_path) if state_path else None
        self.max_batch = max_batch
        self.replay_rows_per_s = replay_rows_per_s
        self.probe_interval_s = probe_interval_s
        self.retention_days = retention_days
        self.on_stored = on_stored
        self.on_event = on_event
        self.stats_ = PipelineStats(buffer_rows=buffer.rows)
        self.held_: dict[str, list[Scored]] = {}
        self._held_retry_at = 0.0  # store down and buffer full: retry held batches at the next probe
        self.unsaved_alarms_: dict[str, Alarm] = {}
        self.unsaved_rejects_: list[Reject] = []
        self._next_probe = 0.0
        self._replay_tokens = 0.0
        self._last_replay = time.monotonic()
        self._next_state = 0.0
        self._next_retention = 0.0
        self._lock = threading.Lock()  # acknowledge() may come from the web thread

    # -- durability ---------------------------------------------------------------------------
    def _store_write(self, scored: list[Scored]) -> bool:
        if not self.stats_.store_up and time.monotonic() < self._next_probe:
            return False
        try:
            new = self.store.write(scored)
        except StoreUnavailable as e:
            if self.stats_.store_up:
                log.warning("저장소 중단, 디스크 버퍼 사용 / Store down, buffering to disk: %s", e)
            self.stats_.store_up = False
            self._next_probe = time.monotonic() + self.probe_interval_s
            return False
        if not self.stats_.store_up:
            log.warning("저장소 복구 / Store back; replaying %d buffered readings", self.buffer.rows)
        self.stats_.store_up = True
        self.stats_.stored += new
        self.stats_.already_stored += len(scored) - new
        if self.on_stored is not None:
            self.on_stored(scored)
        return True

    def _persist(self, scored: list[Scored]) -> bool:
        if self._store_write(scored):
            return True
        try:
            self.buffer.append(scored)
        except (BufferFull, StoreUnavailable):
            return False
        self.stats_.buffered += len(scored)
        return True

    def _replay(self) -> int:
        now = time.monotonic()
        self._replay_tokens = min(
            self.replay_rows_per_s, self._replay_tokens + (now - self._last_replay) * self.replay_rows_per_s
        )
        self._last_replay = now
        if self.buffer.rows == 0 or self._replay_tokens < 1:
            return 0
        if not self.stats_.store_up and now < self._next_probe:
            return 0  # the first chunk written after the probe interval is the probe
        done = 0
        for chunk_id, scored in self.buffer.peek(8):
            if done and done + len(scored) > self._replay_tokens:
                break
            if not self._store_write(scored):
                break
            self.buffer.remove([chunk_id])
            done += len(scored)
        self._replay_tokens -= done
        self.stats_.replayed += done
        return done

    # -- events -------------------------------------------------------------------------------
    def _save_alarm(self, alarm: Alarm) -> None:
        self.unsaved_alarms_[alarm.id] = alarm
        if not self.stats_.store_up:
            return
        try:
            for a in list(self.unsaved_alarms_.values()):
                self.store.save_alarm(a)
                self.unsaved_alarms_.pop(a.id, None)
        except StoreUnavailable:
            pass

    def _handle(self, events: list[AlarmEvent]) -> None:
        for ev in events:
            self._save_alarm(ev.alarm)
            if ev.kind == "raised":
                self.stats_.alarms_raised += 1
                if self.writeback is not None:
                    self.writeback.on_alarm(ev.alarm)
            for n in self.notifiers:
                if ev.kind in ("raised", "cleared"):
                    n.notify(ev.kind, ev.alarm)
            if self.on_event is not None:
                self.on_event(ev)

    def _quarantine(self, rejects: list[Reject]) -> None:
        for j in rejects:
            self.stats_.rejected[j.reason] = self.stats_.rejected.get(j.reason, 0) + 1
        self.unsaved_rejects_.extend(rejects)
        del self.unsaved_rejects_[:-10000]  # quarantine is evidence, not data: keep it bounded
        if self.stats_.store_up and self.unsaved_rejects_:
            try:
                self.store.write_rejects(self.unsaved_rejects_)
                self.unsaved_rejects_ = []
            except StoreUnavailable:
                pass

    # -- the loop -----------------------------------------------------------------------------
    def _score(self, connector: Connector) -> list[Scored] | None:
        batch = connector.next_batch(self.max_batch)
        if batch.rejects:
            self._quarantine(batch.rejects)
        if not batch.readings:
            if batch.rejects:
                connector.commit()
            return None
        readings = batch.readings
        if self.image_scorer is not None and any(r.ref for r in readings):
            idx = [i for i, r in enumerate(readings) if r.ref]
            for i, s in zip(idx, self.image_scorer.score_images([readings[i].ref for i in idx]), strict=True):
                readings[i] = readings[i]._replace(value=float(s))
        self.stats_.received += len(readings)
        scored = list(
            map(partial(build, Scored), zip(readings, self.scorer.score_batch(readings), strict=True))
        )
        if self.alarms is not None:
            with self._lock:
                self._handle(self.alarms.evaluate(scored))
        return scored

    def step(self) -> int:
        """One round over the connectors; returns how many readings became durable."""
        handled = 0
        now = time.monotonic()
        for c in self.connectors:
            if c.name in self.held_ and now < self._held_retry_at:
                continue  # nothing can take it yet; the source stays unread (backpressure)
            scored = self.held_.pop(c.name, None)
            if scored is None:
                scored = self._score(c)
                if scored is None:
                    continue
            if self._persist(scored):
                c.commit()
                handled += len(scored)
            else:
                self.held_[c.name] = scored  # backpressure: this source is not read until this is durable
                self._held_retry_at = time.monotonic() + min(self.probe_interval_s, 0.2)
        handled += self._replay()
        self.stats_.buffer_rows = self.buffer.rows
        self.stats_.held_batches = len(self.held_)
        now = time.monotonic()
        if now >= self._next_state:
            self._next_state = now + 0.5
            self.save_state()
            save_speed = getattr(self.image_scorer, "save_speed", None)  # the station's timings
            if save_speed is not None:
                save_speed()
        if self.retention_days and now >= self._next_retention and self.stats_.store_up:
            self._next_retention = now + 3600
            before = time.time() - self.retention_days * 86400
            with contextlib.suppress(StoreUnavailable):
                self.store.apply_retention(before)
            prune = getattr(self.image_scorer, "apply_retention", None)  # the station's heat maps
            if prune is not None:
                prune(before)
        return handled

    def run(self, stop: threading.Event, idle_sleep: float = 0.002) -> None:
        """Loop until ``stop`` is set; errors are logged and retried with capped backoff."""
        tune_gc()
        attempt = 0
        while not stop.is_set():
            try:
                if self.step() == 0:
                    stop.wait(idle_sleep)
                attempt = 0
            except Exception:  # top of the long-running loop
                log.exception("파이프라인 오류, 재시도 / Pipeline error, retrying")
                stop.wait(min(5.0, 0.1 * 2**attempt))
                attempt += 1
        self.save_state()

    # -- state and control --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {c.name: c.snapshot() for c in self.connectors}

    def save_state(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "line": self.line,
            "at": time.time(),
            "connectors": self.snapshot(),
            "stats": asdict(self.stats_),
            "status": [asdict(c.status()) for c in self.connectors],
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.state_path)

    def acknowledge(self, alarm_id: str, user: str) -> Alarm:
        """A person acknowledged an alarm (active, or already cleared but not yet acknowledged)."""
        with self._lock:
            if self.alarms is not None:
                try:
                    ev = self.alarms.acknowledge(alarm_id, user, time.time())
                    self._save_alarm(ev.alarm)
                    return ev.alarm
                except LineError:
                    pass
            for a in self.store.alarms(self.line):
                if a.id == alarm_id:
                    a.acked_at, a.acked_by = time.time(), user
                    self._save_alarm(a)
                    return a
        raise LineError(f"경보 없음: {alarm_id} / No alarm {alarm_id!r}")

    def close(self) -> None:
        self.save_state()
        for c in self.connectors:
            c.close()
        close_scorer = getattr(self.image_scorer, "close", None)
        if close_scorer is not None:  # an inspection station's model threads
            close_scorer()
        for n in self.notifiers:
            n.close()
        self.buffer.close()
        self.store.close()


def load_state(path: str | Path) -> dict[str, Any]:
    """Connector resume states saved by a previous run (empty when there is none)."""
    try:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")).get("connectors", {}))
    except (OSError, ValueError):
        return {}
