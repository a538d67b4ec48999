"""Use cases of the line domain: apply a configuration, edit tags, interlock, alarms, live values.

Functions take a session and never commit. The time-series store of a line lives in its folder
``<data_dir>/line/<line.key>/`` (or in PostgreSQL, per its ``store`` section); the runtime
``line.yaml`` written there is what ``aion line run`` (or the in-app demo) runs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aion.core import audit
from aion.core.tenancy import NotFound, get_scoped
from aion.line.codec import PayloadDecoder
from aion.line.config import LineConfig, TagConfig, parse_line
from aion.line.errors import LineError
from aion.line.inbox import Inbox
from aion.line.model import Reject
from aion.line.models import Line, Machine, Tag
from aion.line.schemas import AlarmPublic, LiveSnapshot, TagUpdate
from aion.line.store import TimeSeriesStore, open_store
from aion.line.writeback import Interlock

TAG_FIELDS = [f.name for f in fields(TagConfig) if f.name != "name"]


def line_dir(data_dir: Path, line: Line) -> Path:
    return data_dir / "line" / line.key


def list_lines(session: Session) -> list[Line]:
    return list(session.scalars(select(Line).order_by(Line.name)))


def get_line(session: Session, line_id: int) -> Line:
    return get_scoped(session, Line, line_id)


def get_tag(session: Session, line: Line, tag_id: int) -> Tag:
    tag = get_scoped(session, Tag, tag_id)
    if tag.machine.line_id != line.id:
        raise NotFound("Tag", tag_id)
    return tag


def apply_config(session: Session, company_id: int, cfg: LineConfig) -> Line:
    """Create or update the company's line named ``cfg.line``; machines and tags follow the file."""
    line = session.scalars(
        select(Line)
        .where(Line.company_id == company_id, Line.name == cfg.line)
        .options(selectinload(Line.machines).selectinload(Machine.tags))
    ).one_or_none()
    if line is None:
        line = Line(company_id=company_id, name=cfg.line)
        session.add(line)
    line.description = cfg.description
    line.sources = [{"name": s.name, "kind": s.kind, **s.options} for s in cfg.sources]
    line.actions = [{"name": a.name, "kind": a.kind, "when": a.when, **a.options} for a in cfg.actions]
    line.notifications = [
        {"kind": n.kind, "min_interval_s": n.min_interval_s, **n.options} for n in cfg.notifications
    ]
    line.store = dict(cfg.store)
    line.buffer_max_mb = cfg.buffer_max_mb
    machines = {m.name: m for m in line.machines}
    for mc in cfg.machines:
        machine = machines.pop(mc.name, None)
        if machine is None:
            machine = Machine(company_id=company_id, name=mc.name)
            line.machines.append(machine)
        machine.model = mc.model
        tags = {t.name: t for t in machine.tags}
        for full in mc.tags:
            tc = cfg.tags[full]
            short = full.split(".", 1)[1]
            tag = tags.pop(short, None)
            if tag is None:
                tag = Tag(company_id=company_id, name=short)
                machine.tags.append(tag)
            for f in TAG_FIELDS:
                setattr(tag, f, getattr(tc, f))
        for gone in tags.values():
            machine.tags.remove(gone)
    for gone_machine in machines.values():
        line.machines.remove(gone_machine)
    session.flush()
    return line


def inbox_path(data_dir: Path, line: Line) -> Path:
    """Where the web app leaves HTTP-ingested readings for the line's ``http`` source."""
    return line_dir(data_dir, line) / "inbox.sqlite"


def to_document(line: Line, data_dir: Path | None = None) -> dict[str, Any]:
    """The runtime ``line.yaml`` of a line; its ``line`` is the key, unique across companies."""
    sources = [dict(s) for s in line.sources or []]
    if data_dir is not None:
        for s in sources:
            if s.get("kind") == "http" and not s.get("inbox"):
                s["inbox"] = str(inbox_path(data_dir, line).resolve())
    store = dict(line.store or {})
    if store.get("kind") == "postgres" and not store.get("schema"):
        store["schema"] = re.sub(r"[^a-z0-9_]", "_", f"line_{line.key}".lower())
    return {
        "line": line.key,
        "description": line.description,
        "store": store,
        "buffer_max_mb": line.buffer_max_mb,
        "sources": sources,
        "machines": [
            {
                "name": m.name,
                "model": m.model,
                "tags": [{"name": t.name, **{f: getattr(t, f) for f in TAG_FIELDS}} for t in m.tags],
            }
            for m in line.machines
        ],
        "actions": list(line.actions or []),
        "notifications": list(line.notifications or []),
    }


def to_config(line: Line, data_dir: Path | None = None) -> LineConfig:
    return parse_line(to_document(line, data_dir))


def write_runtime(data_dir: Path, line: Line) -> Path:
    """Write the runtime ``line.yaml`` and the interlock state into the line's folder."""
    folder = line_dir(data_dir, line)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "line.yaml"
    path.write_text(
        yaml.safe_dump(to_document(line, data_dir), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    lock = Interlock(folder / "interlock.json", line.key)
    if lock.enabled != line.interlock_enabled:
        (lock.enable if line.interlock_enabled else lock.disable)(line.interlock_by)
    return path


def update_tag(session: Session, data_dir: Path, tag: Tag, data: TagUpdate) -> Tag:
    for k, v in data.model_dump().items():
        setattr(tag, k, v)
    session.flush()  # audited by the after-flush hook: before and after values
    write_runtime(data_dir, tag.machine.line)
    return tag


def set_interlock(session: Session, data_dir: Path, line: Line, enabled: bool, actor: str) -> None:
    """A person enables or disables write-back for the line (audited)."""
    line.interlock_enabled = enabled
    line.interlock_by = actor
    line.interlock_at = datetime.now(UTC)
    audit.record(
        session,
        "line_interlock_on" if enabled else "line_interlock_off",
        "Line",
        line.id,
        company_id=line.company_id,
        detail={"line": line.name, "enabled": enabled},
    )
    session.flush()
    write_runtime(data_dir, line)


def open_line_store(data_dir: Path, line: Line) -> TimeSeriesStore:
    return open_store(to_document(line)["store"], line_dir(data_dir, line))


@contextmanager
def line_store(data_dir: Path, line: Line) -> Iterator[TimeSeriesStore]:
    """The line's store, closed after the block (StoreUnavailable when it cannot be reached)."""
    store = open_line_store(data_dir, line)
    try:
        yield store
    finally:
        store.close()


def acknowledge(session: Session, store: TimeSeriesStore, line: Line, alarm_id: str, actor: str) -> bool:
    """Acknowledge one of the line's alarms; audited. False when unknown or already acknowledged."""
    if not any(a.id == alarm_id for a in store.alarms(line.key, limit=5000)):
        raise NotFound("Alarm", alarm_id)
    done = store.ack_alarm(alarm_id, actor, time.time())
    if done:
        audit.record(
            session,
            "line_alarm_ack",
            "LineAlarm",
            alarm_id[-64:],
            company_id=line.company_id,
            detail={"line": line.name, "alarm": alarm_id},
        )
    return done


def state_fresh(folder: Path, max_age_s: float = 5.0) -> bool:
    """Whether a pipeline saved its state in ``folder`` lately (it saves twice a second)."""
    try:
        doc = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return time.time() - float(doc.get("at", 0)) < max_age_s


def is_running(data_dir: Path, line: Line) -> bool:
    return state_fresh(line_dir(data_dir, line))


def tag_meta(line: Line) -> dict[str, dict[str, Any]]:
    return {
        t.full_name: {"unit": t.unit, "low": t.low, "high": t.high, "machine": m.name, "tag": t.name}
        for m in line.machines
        for t in m.tags
    }


def trends(
    store: TimeSeriesStore, names: list[str], minutes: float = 5.0, points: int = 150
) -> dict[str, list[tuple[float, float]]]:
    """The recent history of each tag, downsampled to about ``points`` buckets."""
    end = time.time() + 1
    start = end - minutes * 60
    return {
        n: [(p.ts, p.value) for p in store.query(n, start, end, bucket_s=minutes * 60 / points)]
        for n in names
    }


def snapshot(
    store: TimeSeriesStore,
    key: str,
    meta: dict[str, dict[str, Any]],
    running: bool,
    with_trends: bool = False,
) -> LiveSnapshot:
    """Current values of the line's tags and its alarms (active first, then the recent others)."""
    latest = store.latest()
    values = {
        name: {**m, "value": latest[name].value, "ts": latest[name].ts, "score": latest[name].score}
        for name, m in meta.items()
        if name in latest
    }
    alarms = store.alarms(key, limit=50)
    alarms.sort(key=lambda a: (a.cleared_at is not None, -a.raised_at))
    return LiveSnapshot(
        at=time.time(),
        values=values,
        alarms=[
            AlarmPublic(**{k: v for k, v in asdict(a).items() if k != "line"}, state=a.state) for a in alarms
        ],
        running=running,
        trends=trends(store, list(meta)) if with_trends else {},
    )


def ingest(data_dir: Path, line: Line, body: bytes, machine: str = "") -> tuple[int, list[Reject]]:
    """A gateway's post for the line: validated now, durable in the inbox when this returns.

    Raises LineError when the line has no ``http`` source, Backpressure when the inbox is full.
    """
    source = next((s["name"] for s in line.sources or [] if s.get("kind") == "http"), None)
    if source is None:
        raise LineError(
            "이 라인은 HTTP 수집을 받지 않음 (kind: http 소스 필요) / "
            "This line does not take HTTP ingest; add a source of kind http"
        )
    batch = PayloadDecoder(tag_meta(line)).decode(body, machine, str(source))
    if batch.readings or batch.rejects:
        box = Inbox(inbox_path(data_dir, line))
        try:
            box.put(batch.readings, batch.rejects)
        finally:
            box.close()
    return len(batch.readings), batch.rejects
