"""The inspection station's photos in the web app: each camera's scored photos (newest first, or
only the NG ones), their heat maps, a person's OK/NG verdict on them, and the labelled photos
added to an inspection data set, so that the next training learns from the line's own mistakes.

A photo is the reading ``<camera>.image`` its camera source stored with the photo's path
(``TimeSeriesStore.attachments``); the station wrote an NG photo's heat map to the source's
``heatmaps`` folder (by default ``<line folder>/heatmaps/<source>``). Files are served only from a
camera source's own folders, and only for the readings the line stored: a path cannot be asked for.
Verdicts live in the database (:class:`~aion.line.models.PhotoLabel`, audited); the photos stay
where the camera wrote them until they are added to a data set, which stores a copy.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.line.connectors.camera import camera_name
from aion.line.errors import LineError
from aion.line.model import Attached
from aion.line.models import Line, PhotoLabel
from aion.line.scoring import DEPLOYED
from aion.line.station import heatmap_folder
from aion.line.store import TimeSeriesStore

if TYPE_CHECKING:
    from aion.platform.models import Dataset, DatasetVersion
    from aion.platform.storage.blobstore import BlobStore

#: A station's score at its model's threshold: above it a part is NG.
NG_SCORE = 0.5
LABELS = ("ok", "ng")
#: Photos per page.
PAGE = 24


@dataclass(frozen=True)
class StationCamera:
    """A camera source of a line: whose readings its photos are, and where its files lie."""

    source: str
    tag: str  # <camera>.image
    folder: Path
    heatmaps: Path
    model: str  # the model file the source names ("" when none)


@dataclass(frozen=True)
class StationPhoto:
    """One scored photo, as the page shows it."""

    tag: str
    ts_us: int
    seq: int
    ref: str
    score: float
    ng: bool  # the station's verdict
    label: str | None  # a person's verdict, if any
    label_by: str
    in_dataset: bool  # added to a data set

    @property
    def key(self) -> str:
        return f"{self.ts_us}-{self.seq}"

    @property
    def name(self) -> str:
        return Path(self.ref).name

    @property
    def ts(self) -> float:
        return self.ts_us / 1e6

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.ts_us / 1e6, UTC)


def cameras(line: Line, line_folder: Path) -> list[StationCamera]:
    """The line's camera sources, in the order of its configuration."""
    out = []
    for s in line.sources or []:
        if s.get("kind") != "camera":
            continue
        name = str(s.get("name", ""))
        out.append(
            StationCamera(
                name,
                f"{camera_name(name, str(s.get('camera') or ''))}.image",
                Path(str(s.get("folder", ""))),
                heatmap_folder(line_folder, name, str(s.get("heatmaps") or "")),
                str(s.get("model") or ""),
            )
        )
    return out


def has_model(cam: StationCamera, line_folder: Path) -> bool:
    """Whether a model scores the camera's photos: one its source names, or one deployed to its
    machine (the line folder's ``deployed.json``)."""
    if cam.model:
        return True
    try:
        doc = json.loads((line_folder / DEPLOYED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    entry = (doc.get("machines") or {}).get(cam.tag.removesuffix(".image")) or {}
    return entry.get("kind") == "inspection"


def camera_of(line: Line, line_folder: Path, tag: str) -> StationCamera:
    for cam in cameras(line, line_folder):
        if cam.tag == tag:
            return cam
    raise NotFound("camera", tag)


def ng_limit(line: Line, tag: str) -> float:
    """The score from which the page calls a photo NG: the tag's ``high`` limit (its alarm), else
    the station's threshold."""
    for m in line.machines:
        for t in m.tags:
            if t.full_name == tag and t.high is not None:
                return float(t.high)
    return NG_SCORE


def _labels(
    session: Session, line: Line, tag: str, keys: list[tuple[int, int]]
) -> dict[tuple[int, int], PhotoLabel]:
    if not keys:
        return {}
    stmt = select(PhotoLabel).where(
        PhotoLabel.line_id == line.id, PhotoLabel.tag == tag, PhotoLabel.ts_us.in_([k[0] for k in keys])
    )
    return {(lab.ts_us, lab.seq): lab for lab in session.scalars(stmt)}


def photos(
    session: Session, store: TimeSeriesStore, line: Line, tag: str, only_ng: bool = False,
    before: tuple[int, int] | None = None, limit: int = PAGE,
) -> list[StationPhoto]:  # fmt: skip
    """A page of the camera's photos, newest first, with the station's and people's verdicts."""
    limit_ng = ng_limit(line, tag)
    rows = store.attachments(tag, limit=limit, before=before, min_value=limit_ng if only_ng else None)
    labels = _labels(session, line, tag, [(a.ts_us, a.seq) for a in rows])
    out = []
    for a in rows:
        lab = labels.get((a.ts_us, a.seq))
        out.append(
            StationPhoto(
                tag, a.ts_us, a.seq, a.ref, a.value, a.value >= limit_ng,
                lab.label if lab else None, lab.author if lab else "",
                bool(lab and lab.dataset_version_id),
            )
        )  # fmt: skip
    return out


def parse_key(key: str) -> tuple[int, int]:
    """A photo's key ``"<ts_us>-<seq>"`` -> ``(ts_us, seq)``; a malformed key is a photo that does
    not exist (:class:`NotFound`).

    >>> parse_key("1700000000250000-7")
    (1700000000250000, 7)
    """
    try:
        ts_us, seq = key.split("-", 1)
        return int(ts_us), int(seq)
    except ValueError as e:
        raise NotFound("photo", key) from e


def stored(store: TimeSeriesStore, tag: str, ts_us: int, seq: int) -> Attached:
    a = store.attachment(tag, ts_us, seq)
    if a is None:
        raise NotFound("photo", f"{tag}@{ts_us}-{seq}")
    return a


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def photo_file(cam: StationCamera, photo: Attached) -> Path:
    """The photo's file, while it is still the one the station scored (same modification time),
    and only inside the camera's folder; :class:`NotFound` otherwise."""
    path = Path(photo.ref)
    if not _inside(path, cam.folder):
        raise NotFound("photo", photo.ref)
    try:
        mtime = path.stat().st_mtime
    except OSError as e:
        raise NotFound("photo", photo.ref) from e
    if abs(mtime - photo.ts) > 1e-3:  # the camera wrote another photo under this name since
        raise NotFound("photo", photo.ref)
    return path


class CameraView(NamedTuple):
    """What a camera's page (and its API) shows: a page of photos and the last day's summary."""

    photos: list[StationPhoto]
    summary: StationSummary


def camera_view(
    session: Session, store: TimeSeriesStore, line: Line, tag: str, only_ng: bool = False,
    before: str = "", limit: int = PAGE,
) -> CameraView:  # fmt: skip
    """A page of the camera's photos (``before``: the key of the previous page's last) and its
    :class:`StationSummary` of the last 24 hours."""
    page = photos(session, store, line, tag, only_ng, parse_key(before) if before else None, limit)
    return CameraView(page, summary(session, store, line, tag))


def heatmap_file(cam: StationCamera, photo: Attached) -> Path:
    """The heat map the station wrote for the photo (NG photos only), or :class:`NotFound`."""
    path = cam.heatmaps / f"{Path(photo.ref).stem}_heatmap.png"
    try:
        if path.stat().st_mtime + 1e-3 < photo.ts:  # an older photo's of the same name
            raise NotFound("heat map", photo.ref)
    except OSError as e:
        raise NotFound("heat map", photo.ref) from e
    return path


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
    pairs = [(label, score >= limit) for label, score in session.execute(stmt)]
    return StationSummary(
        hours,
        shots,
        called_ng,
        confirmed_ng=sum(lab == "ng" and ng for lab, ng in pairs),
        false_rejects=sum(lab == "ok" and ng for lab, ng in pairs),
        escapes=sum(lab == "ng" and not ng for lab, ng in pairs),
        confirmed_ok=sum(lab == "ok" and not ng for lab, ng in pairs),
    )


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
            path = photo_file(cam, Attached(lab.tag, lab.ts_us, lab.seq, lab.score, lab.score, lab.ref))
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
