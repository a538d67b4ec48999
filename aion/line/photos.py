"""The inspection station's photos in the web app: each camera's scored photos (newest first, or
only the NG ones) with people's verdicts on them, the photo files and their heat maps. The
verdicts, the day's summary and the labelled photos' way into a data set are
:mod:`aion.line.verdicts`.

A photo is the reading ``<camera>.image`` its camera source stored with the photo's path
(``TimeSeriesStore.attachments``); the station wrote an NG photo's heat map to the source's
``heatmaps`` folder (by default ``<line folder>/heatmaps/<source>``). Files are served only from a
camera source's own folders, and only for the readings the line stored: a path cannot be asked for.
Verdicts live in the database (:class:`~aion.line.models.PhotoLabel`, audited); the photos stay
where the camera wrote them until they are added to a data set, which stores a copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.line.connectors.camera import camera_name
from aion.line.model import Attached
from aion.line.models import Line, PhotoLabel
from aion.line.scoring import DEPLOYED
from aion.line.station import heatmap_folder
from aion.line.store import TimeSeriesStore

#: A station's score at its model's threshold: above it a part is NG.
NG_SCORE = 0.5
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
        return photo_key(self.ts_us, self.seq)

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


def photo_key(ts_us: int, seq: int) -> str:
    """A photo's key in pages and links (what :func:`parse_key` reads back).

    >>> parse_key(photo_key(1700000000000000, 7))
    (1700000000000000, 7)
    """
    return f"{ts_us}-{seq}"


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


def heatmap_file(cam: StationCamera, photo: Attached) -> Path:
    """The heat map the station wrote for the photo (NG photos only), or :class:`NotFound`."""
    path = cam.heatmaps / f"{Path(photo.ref).stem}_heatmap.png"
    try:
        if path.stat().st_mtime + 1e-3 < photo.ts:  # an older photo's of the same name
            raise NotFound("heat map", photo.ref)
    except OSError as e:
        raise NotFound("heat map", photo.ref) from e
    return path
