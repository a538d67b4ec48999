"""What a model on trial at the inspection station would have done (``trialrun.py`` writes it on
the line PC): beside the station's own calls on the same photos, against people's verdicts on
them, and how fast the line PC runs it. The photos page shows it to decide, on the factory's own
live parts, whether to adopt the version (promote and deploy it) or end the trial.

Photos are matched to the station's readings and to people's verdicts by path and modification
time (a camera that reuses a file name writes a new time). The trial's own threshold decides its
NG calls (0.5 on its normalised score); the station's is the tag's ``high`` limit, as elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.line.compare import Errors
from aion.line.models import Line, Machine, PhotoLabel
from aion.line.photos import ng_limit
from aion.line.stationspeed import CameraSpeed, deployed_label, read_speeds
from aion.line.trialrun import NG_FROM, TRIAL_SPEED_FILE, TrialCall, read_calls, trial_file
from aion.platform.models import ModelTrial, ModelVersion, RegisteredModel

#: Photos where the two models disagree that the page lists (the newest).
SHOWN = 12
#: Two times (microseconds) of one photo: the reading's and the file's as the trial read it.
SAME_PHOTO_US = 1000


@dataclass(frozen=True)
class Disagreement:
    """A photo the model on trial called otherwise than the station."""

    name: str
    ts_us: int
    station: float
    trial: float
    label: str | None  # people's verdict, if any


@dataclass(frozen=True)
class TrialView:
    """A camera's model on trial, as the photos page shows it."""

    machine_id: int
    model: str  # "name vN"
    model_id: int
    version_id: int
    started_by: str
    started_at: datetime
    scored: int  # photos the trial model scored
    agree: int  # ... and called as the station did
    only_trial_ng: int  # it would have rejected, the station passed
    only_station_ng: int  # the station rejected, it would have passed
    busy: int  # photos it had no time for (the line PC was behind)
    unreadable: int
    station: Errors  # on the photos people judged that both scored
    trial: Errors
    disagreements: list[Disagreement]  # the newest SHOWN
    speed: CameraSpeed | None  # the trial model on the line PC
    calls: dict[str, TrialCall]  # photo path -> the trial's newest call (for the page's photos)

    def call(self, ref: str, ts_us: int) -> TrialCall | None:
        c = self.calls.get(ref)
        return c if c is not None and abs(c.ts_us - ts_us) <= SAME_PHOTO_US else None


def trial_row(session: Session, line: Line, machine: str) -> ModelTrial | None:
    stmt = (
        select(ModelTrial)
        .join(Machine, Machine.id == ModelTrial.machine_id)
        .where(ModelTrial.line_id == line.id, Machine.name == machine)
    )
    return session.scalars(stmt).one_or_none()


def _verdicts(session: Session, line: Line, tag: str, since_us: int) -> dict[str, list[PhotoLabel]]:
    stmt = select(PhotoLabel).where(
        PhotoLabel.line_id == line.id, PhotoLabel.tag == tag, PhotoLabel.ts_us >= since_us - SAME_PHOTO_US
    )
    out: dict[str, list[PhotoLabel]] = {}
    for lab in session.scalars(stmt):
        out.setdefault(lab.ref, []).append(lab)
    return out


def _label(labels: dict[str, list[PhotoLabel]], call: TrialCall) -> str | None:
    for lab in labels.get(call.ref, []):
        if abs(lab.ts_us - call.ts_us) <= SAME_PHOTO_US:
            return lab.label
    return None


def view(session: Session, line: Line, line_folder: Path, tag: str) -> TrialView | None:
    """The camera's model on trial with the line PC's records of it; ``None`` without a trial."""
    machine = tag.removesuffix(".image")
    row = trial_row(session, line, machine)
    if row is None:
        return None
    model, version = session.get(RegisteredModel, row.model_id), session.get(ModelVersion, row.version_id)
    if model is None or version is None:
        return None
    label = deployed_label(model.name, version.number)
    calls = [c for c in read_calls(trial_file(line_folder, machine)) if c.version_id == version.id]
    return _summarise(
        session, line, tag, row, label, calls, read_speeds(line_folder, TRIAL_SPEED_FILE).get(machine)
    )


def _summarise(
    session: Session, line: Line, tag: str, row: ModelTrial, label: str,
    calls: list[TrialCall], speed: CameraSpeed | None,
) -> TrialView:  # fmt: skip
    limit = ng_limit(line, tag)
    since_us = min((c.ts_us for c in calls), default=0)
    labels = _verdicts(session, line, tag, since_us) if calls else {}
    agree = only_trial = only_station = busy = unreadable = 0
    station_pairs: list[tuple[str, bool]] = []
    trial_pairs: list[tuple[str, bool]] = []
    differ: list[Disagreement] = []
    for c in calls:
        if c.score is None:  # not scored
            busy += c.why == "busy"
            unreadable += c.why != "busy"
            continue
        trial_ng = c.score >= NG_FROM
        verdict = _label(labels, c)
        if c.station is None:  # no model in use on the camera: nothing to agree with
            if verdict is not None:
                trial_pairs.append((verdict, trial_ng))
            continue
        station_ng = c.station >= limit
        if station_ng == trial_ng:
            agree += 1
        else:
            only_trial += trial_ng
            only_station += station_ng
            differ.append(Disagreement(Path(c.ref).name, c.ts_us, c.station, c.score, verdict))
        if verdict is not None:
            station_pairs.append((verdict, station_ng))
            trial_pairs.append((verdict, trial_ng))
    return TrialView(
        row.machine_id, label, row.model_id, row.version_id, row.started_by, row.updated_at,
        sum(c.score is not None for c in calls),
        agree, only_trial, only_station, busy, unreadable, Errors.of(station_pairs), Errors.of(trial_pairs),
        differ[::-1][:SHOWN], speed, {c.ref: c for c in calls},
    )  # fmt: skip
