"""People's verdicts on an inspection station's photos and what they say: a person marks a
stored photo OK or NG (:class:`~aion.line.models.PhotoLabel`, audited); the day's
:class:`StationSummary` counts the station's NG calls against those verdicts (false rejects and
escapes measured on the factory's own parts); the labelled photos go into an inspection data set
as a new version, so that the next training learns from the line's own mistakes.

The photos themselves (pages, files, heat maps) are :mod:`aion.line.photos`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.line.errors import LineError
from aion.line.model import Attached
from aion.line.models import Line, PhotoLabel
from aion.line.photos import (
    PAGE,
    StationCamera,
    StationPhoto,
    cameras,
    ng_limit,
    parse_key,
    photo_file,
    photos,
    stored,
)
from aion.line.stationspeed import CameraSpeed, read_speeds
from aion.line.store import TimeSeriesStore

if TYPE_CHECKING:
    from aion.platform.models import Dataset, DatasetVersion
    from aion.platform.storage.blobstore import BlobStore

LABELS = ("ok", "ng")


def label_photo(
    session: Session, line: Line, store: TimeSeriesStore, tag: str, ts_us: int, seq: int, label: str,
    author: str, author_id: int | None = None,
) -> PhotoLabel:  # fmt: skip
    """Record a person's verdict on a stored photo (replacing theirs or another's earlier one)."""
    if label not in LABELS:
        raise LineError(
            f"알 수 없는 판정: {label!r} (ok, ng 중 하나) / Unknown verdict {label!r}; valid: ok, ng"
        )
    photo = stored(store, tag, ts_us, seq)
    lab = session.scalars(
        select(PhotoLabel).where(
            PhotoLabel.line_id == line.id,
            PhotoLabel.tag == tag,
            PhotoLabel.ts_us == ts_us,
            PhotoLabel.seq == seq,
        )
    ).one_or_none()
    if lab is None:
        lab = PhotoLabel(
            company_id=line.company_id, line_id=line.id, tag=tag, ts_us=ts_us, seq=seq, ref=photo.ref,
            score=photo.value, label=label, author=author, author_id=author_id,
        )  # fmt: skip
        session.add(lab)
    elif lab.label != label:
        lab.label, lab.author, lab.author_id = label, author, author_id
        lab.labelled_at = datetime.now(UTC)
        lab.dataset_version_id = None  # the new verdict is not in any data set yet
    session.flush()
    return lab


def pending(session: Session, line: Line) -> list[PhotoLabel]:
    """Verdicts not yet added to a data set, oldest first."""
    stmt = select(PhotoLabel).where(PhotoLabel.line_id == line.id, PhotoLabel.dataset_version_id.is_(None))
    return list(session.scalars(stmt.order_by(PhotoLabel.id)))


class VerdictCounts(NamedTuple):
    """The station's calls against people's verdicts (the truth)."""

    confirmed_ng: int  # called NG, people said NG
    false_rejects: int  # called NG, people said OK
    escapes: int  # called OK, people said NG
    confirmed_ok: int  # called OK, people said OK


def count_verdicts(pairs: list[tuple[str, bool]]) -> VerdictCounts:
    """``(people's label, called NG)`` pairs -> :class:`VerdictCounts`.

    >>> count_verdicts([("ok", True), ("ng", False), ("ng", True), ("ok", False), ("ok", False)])
    VerdictCounts(confirmed_ng=1, false_rejects=1, escapes=1, confirmed_ok=2)
    """
    return VerdictCounts(
        sum(label == "ng" and ng for label, ng in pairs),
        sum(label == "ok" and ng for label, ng in pairs),
        sum(label == "ng" and not ng for label, ng in pairs),
        sum(label == "ok" and not ng for label, ng in pairs),
    )


def labelled_file(cam: StationCamera, lab: PhotoLabel) -> Path:
    """The file of a photo people judged, while it is still the one the station scored
    (:func:`~aion.line.photos.photo_file`); :class:`NotFound` otherwise."""
    return photo_file(cam, Attached(lab.tag, lab.ts_us, lab.seq, lab.score, lab.score, lab.ref))


@dataclass(frozen=True)
class StationSummary:
    """How a camera's station did over a window: photos taken (stored; those taken while no model
    scored the camera count too, at 0) and called NG, and what
    people's verdicts on its photos say (false rejects: NG photos marked OK; escapes: OK photos
    marked NG). Measured on the line, on the factory's own parts."""

    hours: float
    photos: int
    ng: int
    confirmed_ng: int
    false_rejects: int
    escapes: int
    confirmed_ok: int
    last_hour: int = 0  # photos taken in the last hour (the camera's pace now)

    @property
    def ng_rate(self) -> float | None:
        return self.ng / self.photos if self.photos else None


def summary(
    session: Session,
    store: TimeSeriesStore,
    line: Line,
    tag: str,
    hours: float = 24.0,
    now: float | None = None,
) -> StationSummary:
    """The camera's :class:`StationSummary` for the last ``hours``."""
    end = time.time() if now is None else now
    start = end - hours * 3600
    limit = ng_limit(line, tag)
    shots, called_ng = store.tally(tag, start, end + 1e-3, limit)
    stmt = select(PhotoLabel.label, PhotoLabel.score).where(
        PhotoLabel.line_id == line.id, PhotoLabel.tag == tag, PhotoLabel.ts_us >= round(start * 1e6)
    )
    counts = count_verdicts([(label, score >= limit) for label, score in session.execute(stmt)])
    return StationSummary(
        hours,
        shots,
        called_ng,
        **counts._asdict(),
        last_hour=store.tally(tag, max(start, end - 3600), end + 1e-3, limit)[0],
    )


class CameraView(NamedTuple):
    """What a camera's page (and its API) shows: a page of photos and the last day's summary."""

    photos: list[StationPhoto]
    summary: StationSummary
    speed: CameraSpeed | None  # the model in use, timed on the line PC (None: not yet)


def camera_view(
    session: Session, store: TimeSeriesStore, line: Line, tag: str, only_ng: bool = False,
    before: str = "", limit: int = PAGE, line_folder: Path | None = None,
) -> CameraView:  # fmt: skip
    """A page of the camera's photos (``before``: the key of the previous page's last), its
    :class:`StationSummary` of the last 24 hours and, from the line's folder, the speed of its
    model on the line PC."""
    page = photos(session, store, line, tag, only_ng, parse_key(before) if before else None, limit)
    speed = read_speeds(line_folder).get(tag.removesuffix(".image")) if line_folder else None
    return CameraView(page, summary(session, store, line, tag), speed)


def dataset_path(line: Line, lab: PhotoLabel) -> str:
    """Where a labelled photo goes in the data set: the OK/NG folder its verdict names, its name
    prefixed with the line and camera (two cameras may both write ``0001.png``).

    >>> class L: name = "press"
    >>> class P: label, tag, ref = "ng", "station.image", "/cam/0001.png"
    >>> dataset_path(L(), P())  # type: ignore[arg-type]
    'ng/press-station-0001.png'
    """
    camera = lab.tag.removesuffix(".image")
    return f"{lab.label}/{line.name}-{camera}-{Path(lab.ref).name}"


def to_dataset(
    session: Session, blobs: BlobStore, tmp_root: Path, line: Line, line_folder: Path, dataset: Dataset
) -> tuple[DatasetVersion, list[str]]:
    """Add the labelled photos not yet in a data set to ``dataset`` (an inspection data set of the
    line's company) as a new version; returns it and the photos that could not be added (the file
    is gone or was replaced since; one that cannot be decoded is listed in the version's report as
    skipped). Raises :class:`LineError` when there is nothing to add."""
    from aion.platform import datasets
    from aion.platform.models import DatasetKind

    if dataset.company_id != line.company_id:
        raise NotFound("Dataset", dataset.id)
    if dataset.kind != DatasetKind.INSPECTION_IMAGES:
        raise LineError(
            f"검사 이미지 데이터셋이 아닙니다: {dataset.name} / Not an inspection image data set: {dataset.name}"
        )
    by_tag = {c.tag: c for c in cameras(line, line_folder)}
    sources, taken, missing = [], [], []
    for lab in pending(session, line):
        cam = by_tag.get(lab.tag)
        try:
            if cam is None:
                raise NotFound("camera", lab.tag)
            path = labelled_file(cam, lab)
        except NotFound:
            missing.append(Path(lab.ref).name)
            continue
        sources.append((dataset_path(line, lab), path))
        taken.append(lab)
    gone_ko = f" (디스크에 더는 없거나 바뀐 사진 {len(missing)}장)" if missing else ""
    gone_en = f" ({len(missing)} photo(s) no longer on disk)" if missing else ""
    if not sources:
        raise LineError(
            f"데이터셋에 추가할 판정된 사진이 없습니다{gone_ko} / "
            f"There are no labelled photos to add to a data set{gone_en}"
        )
    note = f"line {line.name}: {len(taken)} photo(s) labelled on the line{gone_en}"
    # a photo the camera tore (the station counted it NG, not inspected) is skipped with its
    # reason in the version's report, not refused with the rest; its verdict counts as offered
    version = datasets.add_files(session, blobs, tmp_root, dataset, sources, note, skip_problems=True)
    for lab in taken:
        lab.dataset_version_id = version.id
    session.flush()
    return version, missing
