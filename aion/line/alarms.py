"""Rules and the alarm lifecycle: raised, acknowledged, cleared; hysteresis and deduplication.

Rules come from the tag limits: ``high``/``low`` thresholds clear only once the value is back
inside by ``deadband`` (hysteresis), ``rate`` is the largest allowed change per second, and an
optional score threshold raises on a model's anomaly score. While an alarm is active, further
violations of the same rule on the same tag are folded into it (``count``), never a new alarm.

>>> from aion.line.config import TagConfig
>>> m = AlarmManager("l1", {"m.t": TagConfig("m.t", high=10.0, deadband=1.0)})
>>> batch = [Scored(Reading("m.t", t, v), 0.0) for t, v in enumerate([5, 11, 12, 9.5, 8.9])]
>>> [e.kind for e in m.evaluate(batch)]
['raised', 'cleared']
>>> m.history_[0].count
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from aion.line.config import TagConfig
from aion.line.errors import LineError
from aion.line.model import Alarm, Reading, Scored


class AlarmEvent(NamedTuple):
    kind: str  # raised, acknowledged, cleared
    alarm: Alarm


class AlarmManager:
    def __init__(
        self,
        line: str,
        tags: Mapping[str, TagConfig],
        score_threshold: float | None = None,
        active: Sequence[Alarm] = (),
    ) -> None:
        self.line = line
        self.tags = dict(tags)
        self.score_threshold = score_threshold
        self.active_: dict[tuple[str, str], Alarm] = {
            (a.rule, a.tag): a for a in active if a.cleared_at is None
        }
        self.last_: dict[str, tuple[float, float]] = {}
        self.history_: list[Alarm] = []  # alarms raised by this manager, oldest first (bounded)
        self._ruled = {
            n for n, t in self.tags.items() if t.high is not None or t.low is not None or t.rate is not None
        }

    def _raise(self, events: list[AlarmEvent], rule: str, r: Reading, severity: str, message: str) -> None:
        key = (rule, r.tag)
        alarm = self.active_.get(key)
        if alarm is not None:  # deduplicate: fold into the active alarm
            alarm.count += 1
            alarm.value = r.value
            return
        alarm = Alarm(
            f"{self.line}:{rule}:{r.tag}:{round(r.ts * 1e6)}",
            self.line,
            r.tag,
            rule,
            severity,
            message,
            r.value,
            r.ts,
        )
        self.active_[key] = alarm
        self.history_.append(alarm)
        del self.history_[:-1000]
        events.append(AlarmEvent("raised", alarm))

    def _clear(self, events: list[AlarmEvent], rule: str, r: Reading) -> None:
        alarm = self.active_.pop((rule, r.tag), None)
        if alarm is not None:
            alarm.cleared_at = r.ts
            alarm.value = r.value
            events.append(AlarmEvent("cleared", alarm))

    def evaluate(self, scored: Sequence[Scored]) -> list[AlarmEvent]:
        """Apply every rule to a batch (in order); returns the lifecycle events it caused."""
        events: list[AlarmEvent] = []
        threshold = self.score_threshold
        active = self.active_
        for r, score in scored:
            if threshold is not None:
                if score >= threshold:
                    self._raise(
                        events, "score", r, "warning", f"{r.tag} 이상 점수 / anomaly score {score:.2f}"
                    )
                elif ("score", r.tag) in active and score < threshold * 0.8:
                    self._clear(events, "score", r)
            if r.tag not in self._ruled:
                continue
            t = self.tags[r.tag]
            v = r.value
            if t.high is not None:
                if v > t.high:
                    self._raise(events, "high", r, "critical", f"{r.tag} {v:g} > {t.high:g} {t.unit}".strip())
                elif ("high", r.tag) in active and v < t.high - t.deadband:
                    self._clear(events, "high", r)
            if t.low is not None:
                if v < t.low:
                    self._raise(events, "low", r, "critical", f"{r.tag} {v:g} < {t.low:g} {t.unit}".strip())
                elif ("low", r.tag) in active and v > t.low + t.deadband:
                    self._clear(events, "low", r)
            if t.rate is not None:
                prev = self.last_.get(r.tag)
                self.last_[r.tag] = (r.ts, v)
                if prev is not None and r.ts > prev[0]:
                    rate = abs(v - prev[1]) / (r.ts - prev[0])
                    if rate > t.rate:
                        self._raise(
                            events, "rate", r, "warning", f"{r.tag} 변화율 / rate {rate:g}/s > {t.rate:g}/s"
                        )
                    elif ("rate", r.tag) in active:
                        self._clear(events, "rate", r)
        return events

    def acknowledge(self, alarm_id: str, user: str, at: float) -> AlarmEvent:
        """A person acknowledged an active alarm."""
        for alarm in self.active_.values():
            if alarm.id == alarm_id:
                alarm.acked_at, alarm.acked_by = at, user
                return AlarmEvent("acknowledged", alarm)
        raise LineError(f"활성 경보 없음: {alarm_id} / No active alarm {alarm_id!r}")
