"""Would another model have judged the line's parts better? A registered inspection model version
scored on the photos people gave a verdict on (:class:`~aion.line.models.PhotoLabel`), beside the
station's own calls on the same photos.

People's verdicts are the truth here: a retrained model (say, on the photos the line got wrong)
is worth deploying when it makes fewer false rejects and escapes on the factory's own parts than
the model in use. The candidate calls a photo NG by its own threshold (the file carries it); the
station's call is the score it stored against the tag's ``high`` limit. Photos no longer on disk,
replaced since, or that cannot be read are counted apart, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.line.models import Line, PhotoLabel
from aion.line.photos import StationCamera, ng_limit, photo_key
from aion.line.stationspeed import deployed_label
from aion.line.verdicts import count_verdicts, labelled_file
from aion.platform.models import ModelAlias, ModelVersion, RegisteredModel
from aion.platform.storage.blobstore import BlobStore

#: The newest labelled photos a comparison scores (a request's worth of work).
MAX_PHOTOS = 200


@dataclass(frozen=True)
class Errors:
    """One model's calls against people's verdicts on ``judged`` photos."""

    judged: int
    false_rejects: int  # called NG, people said OK
    escapes: int  # called OK, people said NG

    @classmethod
    def of(cls, pairs: list[tuple[str, bool]]) -> Errors:
        """``(people's label, called NG)`` pairs -> their errors."""
        counts = count_verdicts(pairs)
        return cls(len(pairs), counts.false_rejects, counts.escapes)

    @property
    def right(self) -> int:
        return self.judged - self.false_rejects - self.escapes

    @property
    def accuracy(self) -> float | None:
        return self.right / self.judged if self.judged else None


class Changed(NamedTuple):
    """A photo the candidate calls otherwise than the station did."""

    key: str
    name: str
    label: str  # people's verdict: ok, ng
    station_score: float
    model_score: float


@dataclass(frozen=True)
class Comparison:
    model: str  # "name vN"
    model_id: int  # its registered model (whose page promotes and deploys it)
    station: Errors
    candidate: Errors
    changed: list[Changed]
    missing: int  # labelled photos not scored: gone, replaced or unreadable


class Candidate(NamedTuple):
    model: RegisteredModel
    version: ModelVersion
    production: bool  # the model's production version


def candidates(session: Session, company_id: int) -> list[Candidate]:
    """The company's inspection model versions, newest first."""
    stmt = (
        select(RegisteredModel, ModelVersion, ModelAlias.version_id)
        .join(ModelVersion, ModelVersion.model_id == RegisteredModel.id)
        .outerjoin(
            ModelAlias, (ModelAlias.model_id == RegisteredModel.id) & (ModelAlias.alias == "production")
        )
        .where(RegisteredModel.company_id == company_id, RegisteredModel.kind == "inspection")
        .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    )
    return [Candidate(m, v, prod == v.id) for m, v, prod in session.execute(stmt)]


def compare(
    session: Session, blobs: BlobStore, line: Line, cam: StationCamera, version_id: int
) -> Comparison:
    """Score the camera's newest :data:`MAX_PHOTOS` labelled photos with the model version (of the
    line's company; :class:`NotFound` otherwise) and count both models' errors on them."""
    from aion.inspectionweb.service import load_model

    version = session.get(ModelVersion, version_id)
    model_row = session.get(RegisteredModel, version.model_id) if version is not None else None
    if version is None or model_row is None or model_row.company_id != line.company_id:
        raise NotFound("ModelVersion", version_id)
    if model_row.kind != "inspection":
        raise NotFound("inspection model version", version_id)
    stmt = (
        select(PhotoLabel)
        .where(PhotoLabel.line_id == line.id, PhotoLabel.tag == cam.tag)
        .order_by(PhotoLabel.ts_us.desc())
        .limit(MAX_PHOTOS)
    )
    files: dict[str, PhotoLabel] = {}
    missing = 0
    for lab in session.scalars(stmt):
        try:
            path = labelled_file(cam, lab)
        except NotFound:
            missing += 1
            continue
        files[str(path)] = lab
    model = load_model(blobs, version)
    batch = model.predict_files([Path(p) for p in files])
    missing += len(batch.skipped)
    limit = ng_limit(line, cam.tag)
    station, candidate, changed = [], [], []
    for pred in batch.predictions:
        lab = files[pred.name]
        station_ng, model_ng = lab.score >= limit, not pred.passed
        station.append((lab.label, station_ng))
        candidate.append((lab.label, model_ng))
        if station_ng != model_ng:
            key = photo_key(lab.ts_us, lab.seq)
            changed.append(Changed(key, Path(lab.ref).name, lab.label, lab.score, float(pred.score)))
    return Comparison(
        deployed_label(model_row.name, version.number), model_row.id, Errors.of(station), Errors.of(candidate),
        changed, missing,
    )  # fmt: skip


def labelled(session: Session, line: Line, tag: str) -> int:
    """How many of the camera's photos people gave a verdict on."""
    from sqlalchemy import func

    stmt = select(func.count(PhotoLabel.id)).where(PhotoLabel.line_id == line.id, PhotoLabel.tag == tag)
    return int(session.scalar(stmt) or 0)
