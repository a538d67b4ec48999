"""Data set use cases: create, upload a version, register a folder, label, list and preview.

Every function takes a tenant-scoped session (and never commits). Versions are immutable: an
upload or a label set makes a *new* version whose items are the previous version's plus the
change. Files are checked first (:mod:`aion.platform.validation`), then stored content-addressed
in a :class:`~aion.platform.storage.blobstore.BlobStore`, then the rows are written; an upload
with any problem raises :class:`~aion.platform.errors.ValidationFailed` and stores nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aion.core import audit
from aion.core.tenancy import current_scope, get_scoped
from aion.platform.errors import PlatformError, ValidationFailed
from aion.platform.masks import read_painted_mask, shown_size
from aion.platform.models import Dataset, DatasetItem, DatasetKind, DatasetVersion, Label, LabelValue
from aion.platform.previews import PREVIEW_SIZES, preview_blob
from aion.platform.quota import DbStorageQuota
from aion.platform.storage.archive import ArchiveLimits
from aion.platform.storage.blobstore import BlobStore
from aion.platform.validation import Staged, stage


def create_dataset(session: Session, company_id: int, name: str, kind: str, description: str = "") -> Dataset:
    """A new, empty data set of ``kind`` (a :class:`DatasetKind` value) for the company."""
    name = name.strip()
    if not name:
        raise PlatformError("Name is required.")
    if kind not in {k.value for k in DatasetKind}:
        raise PlatformError("Unknown data set kind: {kind}", kind=kind)
    if not current_scope(session).allows(company_id):
        raise PlatformError("You cannot create data sets for this company.")
    exists = session.scalar(select(Dataset.id).where(Dataset.company_id == company_id, Dataset.name == name))
    if exists is not None:
        raise PlatformError("A data set named {name} already exists.", name=name)
    ds = Dataset(
        company_id=company_id,
        name=name,
        kind=kind,
        description=description.strip(),
        created_by=current_scope(session).actor,
    )
    session.add(ds)
    session.flush()
    return ds


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.company_id, Dataset.name)))


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    """The data set, or :class:`~aion.core.tenancy.NotFound` (also for another company's)."""
    return get_scoped(session, Dataset, dataset_id)


def list_versions(session: Session, dataset_id: int) -> list[DatasetVersion]:
    stmt = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id)
    return list(session.scalars(stmt.order_by(DatasetVersion.number.desc())))


def latest_version(session: Session, dataset_id: int) -> DatasetVersion | None:
    stmt = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id)
    return session.scalars(stmt.order_by(DatasetVersion.number.desc()).limit(1)).first()


def get_version(session: Session, dataset_id: int, version_id: int) -> DatasetVersion:
    version = get_scoped(session, DatasetVersion, version_id)
    if version.dataset_id != dataset_id:
        from aion.core.tenancy import NotFound

        raise NotFound("DatasetVersion", version_id)
    return version


def get_scoped_version(session: Session, version_id: int) -> DatasetVersion:
    return get_scoped(session, DatasetVersion, version_id)


def version_items(
    session: Session, version_id: int, label: str | None = None, offset: int = 0, limit: int | None = None
) -> list[DatasetItem]:
    """Items of a version by path; ``label`` filters (``"none"`` for unlabelled)."""
    stmt = select(DatasetItem).where(DatasetItem.version_id == version_id)
    if label == "none":
        stmt = stmt.where(DatasetItem.label.is_(None))
    elif label:
        stmt = stmt.where(DatasetItem.label == label)
    stmt = stmt.order_by(DatasetItem.path).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def item_at(session: Session, version_id: int, path: str) -> DatasetItem | None:
    """The item of a version at ``path`` (unique in a version), if any."""
    stmt = select(DatasetItem).where(DatasetItem.version_id == version_id, DatasetItem.path == path)
    return session.scalars(stmt).first()


def count_items(session: Session, version_id: int) -> int:
    return session.scalar(select(func.count(DatasetItem.id)).where(DatasetItem.version_id == version_id)) or 0


def _counts(items: Iterable[DatasetItem]) -> dict[str, int]:
    out = {"items": 0, "ok": 0, "ng": 0, "unlabeled": 0, "mask": 0}
    for it in items:
        out["items"] += 1
        if it.events:
            out["events"] = out.get("events", 0) + len(it.events)
        if it.media_type == "mask":
            out["mask"] += 1
        else:
            out[it.label if it.label in ("ok", "ng") else "unlabeled"] += 1
    return out


def _write_version(
    session: Session,
    store: BlobStore,
    dataset: Dataset,
    items: list[DatasetItem],
    parent: DatasetVersion | None,
    note: str,
    report: dict[str, object],
) -> DatasetVersion:
    """Store the manifest blob and insert the version and its items (all in the caller's transaction)."""
    number = (parent.number if parent else 0) + 1
    last = latest_version(session, dataset.id)
    if last is not None and last.number >= number:
        number = last.number + 1
    items = sorted(items, key=lambda it: it.path)
    manifest = {
        "dataset_id": dataset.id,
        "dataset": dataset.name,
        "kind": dataset.kind,
        "version": number,
        "items": [
            {"path": it.path, "sha256": it.sha256, "size": it.size, "label": it.label}
            | ({"box": it.box} if it.box else {})
            | ({"mask": it.mask_sha256} if it.mask_sha256 else {})
            | ({"events": it.events} if it.events else {})
            for it in items
        ],
    }
    data = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode("utf-8")
    info = store.put_stream(io.BytesIO(data))
    DbStorageQuota(session).charge(str(dataset.company_id), info.sha256, info.size)
    version = DatasetVersion(
        company_id=dataset.company_id,
        dataset_id=dataset.id,
        number=number,
        parent_id=parent.id if parent else None,
        note=note,
        item_count=len(items),
        total_bytes=sum(it.size for it in items),
        counts=_counts(items),
        manifest_sha256=info.sha256,
        report=report,
        created_by=current_scope(session).actor,
    )
    session.add(version)
    session.flush()
    for it in items:
        it.version_id = version.id
        it.company_id = dataset.company_id
    session.add_all(items)
    session.flush()
    return version


def _copy_item(it: DatasetItem) -> DatasetItem:
    """The item as the next version starts with it: its file, label and marks (box, mask, events)."""
    return DatasetItem(
        path=it.path,
        sha256=it.sha256,
        size=it.size,
        media_type=it.media_type,
        label=it.label,
        label_by=it.label_by,
        box=it.box,
        mask_sha256=it.mask_sha256,
        events=it.events,
    )


def add_files(
    session: Session,
    store: BlobStore,
    tmp_root: Path,
    dataset: Dataset,
    sources: Iterable[tuple[str, Path]],
    note: str = "",
    limits: ArchiveLimits = ArchiveLimits(),
    skip_problems: bool = False,
) -> DatasetVersion:
    """Check, store and register files (loose or ``.zip``) as a new version on top of the latest.

    Raises :class:`ValidationFailed` listing every problem (nothing stored), or
    :class:`~aion.platform.errors.QuotaExceeded` when the new content does not fit. With
    ``skip_problems`` a file with a problem of its own (type, corrupt content) is skipped and
    listed in the version's report instead (``validation.stage``).
    """
    parent = latest_version(session, dataset.id)
    base = version_items(session, parent.id) if parent else []
    staged: Staged = stage(
        sources, dataset.kind, tmp_root, {it.sha256 for it in base}, limits, skip_problems=skip_problems
    )
    try:
        if not staged.ok:
            raise ValidationFailed(
                "The upload was refused: {n} file(s) have problems. Nothing was stored."
                if skip_problems
                else "The upload was refused: {n} file(s) have problems. Nothing was stored. "
                "To store the other files, tick 'Skip files with problems' and upload again.",
                problems=staged.problems,
                n=len(staged.problems),
            )
        if not staged.files:
            raise ValidationFailed("The upload holds no new files.", problems=staged.skipped)
        quota = DbStorageQuota(session)
        quota.require(dataset.company_id, {f.sha256: f.size for f in staged.files})
        items = {it.path: _copy_item(it) for it in base}
        for f in staged.files:
            info = store.put_file(f.local, f.sha256)
            quota.charge(str(dataset.company_id), info.sha256, info.size)
            label_by = "folder" if f.label else None
            items[f.path] = DatasetItem(
                path=f.path,
                sha256=f.sha256,
                size=f.size,
                media_type=f.media_type,
                label=f.label,
                label_by=label_by,
            )
        version = _write_version(session, store, dataset, list(items.values()), parent, note, staged.report())
    finally:
        staged.cleanup()
    audit.record(
        session,
        "dataset_version",
        "DatasetVersion",
        version.id,
        company_id=dataset.company_id,
        detail={"dataset_id": dataset.id, "number": version.number, **staged.report()},
    )
    return version


def register_folder(
    session: Session, store: BlobStore, tmp_root: Path, dataset: Dataset, folder: Path, note: str = ""
) -> DatasetVersion:
    """Register every file under ``folder`` (recursively; symlinks are not followed) as a new version."""
    if not folder.is_dir():
        raise PlatformError("Not a folder: {path}", path=str(folder))
    sources = [
        (p.relative_to(folder).as_posix(), p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    ]
    return add_files(session, store, tmp_root, dataset, sources, note or f"folder {folder.name}")


# -- labeling ---------------------------------------------------------------------------------
def set_label(
    session: Session,
    item_id: int,
    value: str | None,
    box: list[float] | None = None,
    mask_sha256: str | None = None,
    keep_region: bool = True,
) -> Label:
    """Record one label (``ok``/``ng``, or ``None`` to clear) on an item, with its author.

    An NG label may carry the defect's region: a ``box`` or a painted mask (``mask_sha256``, see
    :func:`set_mask`). An NG label without one keeps the region the item has (pressing NG again on
    a marked image does not wipe what was drawn) unless ``keep_region`` is false; clearing or OK
    drops it.
    """
    if value is not None and value not in {v.value for v in LabelValue}:
        raise PlatformError("Unknown label: {value}", value=value)
    if value == LabelValue.EVENT and box is None:
        raise PlatformError("An event needs a time range.")
    if box is not None and mask_sha256 is not None:
        raise PlatformError("A label has a box or a mask, not both.")
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise PlatformError("A region must lie inside the image.")
        if value not in (LabelValue.NG, LabelValue.EVENT):
            raise PlatformError("Only an NG label has a defect region.")
        box = [round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4)]
    if mask_sha256 is not None and value != LabelValue.NG:
        raise PlatformError("Only an NG label has a defect region.")
    item = get_scoped(session, DatasetItem, item_id)
    if value == LabelValue.NG and box is None and mask_sha256 is None and keep_region:
        box, mask_sha256 = current_region(session, item)
    scope = current_scope(session)
    label = Label(
        company_id=item.company_id,
        item_id=item.id,
        version_id=item.version_id,
        value=value or "",
        box=box,
        mask_sha256=mask_sha256,
        author_id=scope.actor_id,
        author=scope.actor,
    )
    session.add(label)
    session.flush()
    return label


def current_region(session: Session, item: DatasetItem) -> tuple[list[float] | None, str | None]:
    """The defect region an item has now, ``(box, mask_sha256)``: its latest label's since the
    version was written, else the version's; ``(None, None)`` unless it is NG."""
    stmt = select(Label).where(Label.item_id == item.id, Label.value != LabelValue.EVENT.value)
    latest = session.scalars(stmt.order_by(Label.id.desc()).limit(1)).first()
    if latest is not None:
        return (latest.box, latest.mask_sha256) if latest.value == LabelValue.NG else (None, None)
    return (item.box, item.mask_sha256) if item.label == LabelValue.NG else (None, None)


def set_mask(session: Session, store: BlobStore, item_id: int, data: bytes) -> Label:
    """Label an image NG with the defect mask painted over it (PNG ``data``, see ``masks.py``).

    The mask is checked against the image's shape, stored as a binary PNG blob (charged to the
    company's storage) and carried into the next version by :func:`commit_labels`.
    """
    item = get_scoped(session, DatasetItem, item_id)
    if not item.media_type.startswith("image/"):
        raise PlatformError("Only an image can have a defect mask.")
    # the page paints on the image's preview: the image as shown (EXIF-turned), shrunk
    with store.open(preview_blob(store, item.sha256, item.path, PREVIEW_SIZES[-1])) as f:
        size = shown_size(io.BytesIO(f.read()))
    mask = read_painted_mask(data, size)
    quota = DbStorageQuota(session)
    quota.require(item.company_id, {hashlib.sha256(mask.png).hexdigest(): len(mask.png)})
    info = store.put_stream(io.BytesIO(mask.png))
    quota.charge(str(item.company_id), info.sha256, info.size)
    return set_label(session, item.id, LabelValue.NG.value, mask_sha256=info.sha256)


def pending_labels(session: Session, version_id: int) -> dict[int, Label]:
    """The latest OK/NG (or clear) label per item of a version, given since the version was written."""
    stmt = select(Label).where(Label.version_id == version_id, Label.value != LabelValue.EVENT.value)
    return {lab.item_id: lab for lab in session.scalars(stmt.order_by(Label.id))}


def item_events(session: Session, item: DatasetItem) -> list[dict[str, Any]]:
    """The item's events: those of its version plus those marked since (a clear label drops them)."""
    events = list(item.events or [])
    for lab in session.scalars(select(Label).where(Label.item_id == item.id).order_by(Label.id)):
        if lab.value == LabelValue.EVENT and lab.box:
            events.append({"start": lab.box[0], "end": lab.box[2], "by": lab.author})
        elif not lab.value:
            events = []
    return events


def label_history(session: Session, version_id: int, limit: int = 50) -> list[Label]:
    stmt = select(Label).where(Label.version_id == version_id).order_by(Label.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def commit_labels(session: Session, store: BlobStore, dataset: Dataset, note: str = "") -> DatasetVersion:
    """Save the pending labels of the latest version as a new version (who labelled what is kept)."""
    parent = latest_version(session, dataset.id)
    if parent is None:
        raise PlatformError("The data set has no version to label yet.")
    pending = pending_labels(session, parent.id)
    evented = {
        lab.item_id: lab for lab in session.scalars(select(Label).where(Label.version_id == parent.id))
    }
    if not evented:
        raise PlatformError("There are no new labels to save.")
    items = []
    changed = 0
    for it in version_items(session, parent.id):
        new = _copy_item(it)
        lab = pending.get(it.id)
        if lab is not None and (
            (lab.value or None) != it.label or lab.box != it.box or lab.mask_sha256 != it.mask_sha256
        ):
            new.label = lab.value or None
            new.label_by = lab.author
            new.box = lab.box if lab.value == "ng" else None
            new.mask_sha256 = lab.mask_sha256 if lab.value == "ng" else None
            changed += 1
        if it.id in evented:
            events = item_events(session, it)
            if events != (it.events or []):
                new.events = events or None
                changed += 1
        items.append(new)
    authors = sorted(set(session.scalars(select(Label.author).where(Label.version_id == parent.id))))
    report = {"labels_changed": changed, "labelers": authors}
    version = _write_version(session, store, dataset, items, parent, note or "labels", report)
    audit.record(
        session,
        "dataset_labels",
        "DatasetVersion",
        version.id,
        company_id=dataset.company_id,
        detail={"dataset_id": dataset.id, "number": version.number, **report},
    )
    return version
