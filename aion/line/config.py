"""Lines, machines, tags and sources: the typed form of ``line.yaml``.

>>> cfg = parse_line({"line": "l1", "sources": [{"name": "plc", "kind": "modbus", "port": 5020}],
...     "machines": [{"name": "pump", "tags": [{"name": "flow", "source": "plc", "address": "hr:0",
...     "dtype": "float32", "high": 50}]}]})
>>> cfg.tags["pump.flow"].high, cfg.sources[0].kind
(50.0, 'modbus')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aion.line.errors import LineConfigError

SOURCE_KINDS = ("mqtt", "opcua", "modbus", "replay", "camera", "ingest", "http")
DTYPES = ("int16", "uint16", "int32", "uint32", "float32")
ORDERS = ("big", "little")
ACTION_KINDS = ("modbus_write", "opcua_write", "mqtt_publish")
NOTIFY_KINDS = ("webhook", "smtp")


def data_dir() -> Path:
    """The lines' folder in the data directory (settings: ``AION_DATA_DIR``, default ``./aion-data``)."""
    from aion.settings import get_settings

    return Path(get_settings().data_dir) / "line"


@dataclass
class TagConfig:
    name: str  # full name, "machine.tag"
    unit: str = ""
    source: str = ""
    address: str = ""  # modbus "hr:0"/"ir:4"; opcua node id or browse path; mqtt/replay field name
    dtype: str = "float32"
    byte_order: str = "big"
    word_order: str = "big"
    scale: float = 1.0
    offset: float = 0.0
    low: float | None = None
    high: float | None = None
    rate: float | None = None  # largest allowed change per second
    deadband: float = 0.0  # hysteresis for clearing threshold alarms
    mode: str = "subscribe"  # opcua: subscribe or poll


@dataclass
class MachineConfig:
    name: str
    model: str = ""  # deployed process-model id, scored by a plugged Scorer
    tags: list[str] = field(default_factory=list)


@dataclass
class SourceConfig:
    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActionConfig:
    name: str
    kind: str
    when: dict[str, str] = field(default_factory=dict)  # match on alarm fields: tag, rule, severity
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class NotifyConfig:
    kind: str
    min_interval_s: float = 60.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LineConfig:
    line: str
    description: str = ""
    sources: list[SourceConfig] = field(default_factory=list)
    machines: list[MachineConfig] = field(default_factory=list)
    tags: dict[str, TagConfig] = field(default_factory=dict)
    actions: list[ActionConfig] = field(default_factory=list)
    notifications: list[NotifyConfig] = field(default_factory=list)
    store: dict[str, Any] = field(default_factory=dict)  # kind: sqlite|postgres, path, url, retention_days
    buffer_max_mb: float = 256.0
    accept_unknown_tags: bool = False

    def tags_of(self, source: str) -> list[TagConfig]:
        return [t for t in self.tags.values() if t.source == source]


def _num(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as e:
        raise LineConfigError(f"숫자가 아님: {where}={value!r} / Not a number: {where}={value!r}") from e
    if not math.isfinite(out):
        raise LineConfigError(f"유한한 숫자가 아님: {where}={value!r} / Not finite: {where}={value!r}")
    return out


def _choice(value: Any, options: tuple[str, ...], where: str) -> str:
    if value not in options:
        raise LineConfigError(
            f"잘못된 값: {where}={value!r} (가능: {', '.join(options)}) / "
            f"Invalid {where}={value!r}; valid: {', '.join(options)}"
        )
    return str(value)


def _tag(machine: str, raw: dict[str, Any], sources: set[str]) -> TagConfig:
    if "name" not in raw:
        raise LineConfigError(f"태그 이름 없음: {machine} / Tag without a name in machine {machine}")
    where = f"{machine}.{raw['name']}"
    known = {f for f in TagConfig.__dataclass_fields__}
    unknown = set(raw) - known
    if unknown:
        raise LineConfigError(
            f"알 수 없는 태그 필드: {where}: {sorted(unknown)} / Unknown tag fields in {where}: "
            f"{sorted(unknown)}; valid: {sorted(known)}"
        )
    source = str(raw.get("source", ""))
    if source and source not in sources:
        raise LineConfigError(
            f"없는 소스: {where}.source={source!r} / Unknown source {source!r} in {where}; "
            f"defined: {sorted(sources)}"
        )
    return TagConfig(
        name=where,
        unit=str(raw.get("unit", "")),
        source=source,
        address=str(raw.get("address", raw["name"])),
        dtype=_choice(raw.get("dtype", "float32"), DTYPES, f"{where}.dtype"),
        byte_order=_choice(raw.get("byte_order", "big"), ORDERS, f"{where}.byte_order"),
        word_order=_choice(raw.get("word_order", "big"), ORDERS, f"{where}.word_order"),
        scale=_num(raw.get("scale", 1.0), f"{where}.scale") or 1.0,
        offset=_num(raw.get("offset", 0.0), f"{where}.offset") or 0.0,
        low=_num(raw.get("low"), f"{where}.low"),
        high=_num(raw.get("high"), f"{where}.high"),
        rate=_num(raw.get("rate"), f"{where}.rate"),
        deadband=_num(raw.get("deadband", 0.0), f"{where}.deadband") or 0.0,
        mode=_choice(raw.get("mode", "subscribe"), ("subscribe", "poll"), f"{where}.mode"),
    )


def parse_line(raw: Any) -> LineConfig:
    """Validate a parsed YAML document into a :class:`LineConfig`."""
    if not isinstance(raw, dict) or not raw.get("line"):
        raise LineConfigError("'line' 이름이 필요함 / The document needs a 'line' name at the top level")
    sources: list[SourceConfig] = []
    for i, s in enumerate(raw.get("sources") or []):
        if not isinstance(s, dict) or "name" not in s:
            raise LineConfigError(f"sources[{i}]에 name 없음 / sources[{i}] needs a name")
        kind = _choice(s.get("kind"), SOURCE_KINDS, f"sources[{i}].kind")
        opts = {k: v for k, v in s.items() if k not in ("name", "kind")}
        sources.append(SourceConfig(str(s["name"]), kind, opts))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise LineConfigError(f"소스 이름 중복: {names} / Duplicate source names: {names}")
    cfg = LineConfig(
        line=str(raw["line"]),
        description=str(raw.get("description", "")),
        sources=sources,
        store=dict(raw.get("store") or {}),
        buffer_max_mb=_num(raw.get("buffer_max_mb", 256), "buffer_max_mb") or 256.0,
        accept_unknown_tags=bool(raw.get("accept_unknown_tags", False)),
    )
    for m in raw.get("machines") or []:
        if not isinstance(m, dict) or "name" not in m:
            raise LineConfigError("machines 항목에 name 없음 / Every machine needs a name")
        mc = MachineConfig(str(m["name"]), str(m.get("model", "")))
        for t in m.get("tags") or []:
            tag = _tag(mc.name, t if isinstance(t, dict) else {"name": t}, set(names))
            if tag.name in cfg.tags:
                raise LineConfigError(f"태그 중복: {tag.name} / Duplicate tag: {tag.name}")
            cfg.tags[tag.name] = tag
            mc.tags.append(tag.name)
        cfg.machines.append(mc)
    for i, a in enumerate(raw.get("actions") or []):
        kind = _choice(a.get("kind"), ACTION_KINDS, f"actions[{i}].kind")
        opts = {k: v for k, v in a.items() if k not in ("name", "kind", "when")}
        cfg.actions.append(
            ActionConfig(str(a.get("name", f"action{i}")), kind, dict(a.get("when") or {}), opts)
        )
    for i, n in enumerate(raw.get("notifications") or []):
        kind = _choice(n.get("kind"), NOTIFY_KINDS, f"notifications[{i}].kind")
        opts = {k: v for k, v in n.items() if k not in ("kind", "min_interval_s")}
        interval = _num(n.get("min_interval_s", 60), f"notifications[{i}].min_interval_s")
        cfg.notifications.append(NotifyConfig(kind, interval if interval is not None else 60.0, opts))
    return cfg


def load_line(path: str | Path) -> LineConfig:
    """Read and validate a ``line.yaml`` file."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise LineConfigError(f"파일을 읽을 수 없음: {p} / Cannot read {p}: {e}") from e
    except yaml.YAMLError as e:
        raise LineConfigError(f"YAML 오류: {p} / Invalid YAML in {p}: {e}") from e
    return parse_line(raw)


def example_path() -> Path:
    """The bundled demo line: the simulated pump on the embedded broker."""
    return Path(__file__).parent / "examples" / "pump.yaml"
