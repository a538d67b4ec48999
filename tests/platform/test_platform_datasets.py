"""Data sets through the service on a real database: versions, validation, quota, labels."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.core.tenancy import NotFound
from aion.platform import datasets
from aion.platform.errors import PlatformError, QuotaExceeded, ValidationFailed
from aion.platform.jobs import set_quota
from aion.platform.models import BlobRef, DatasetItem, DatasetVersion
from aion.platform.runtime import PlatformStorage
from tests.foundation.factories import World
from tests.platform.helpers import blob_files, bomb_zip, make_zip, png, scoped, traversal_zip, write_images


def test_upload_zip_makes_a_version_with_manifest_counts_and_labels(
    member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds = datasets.create_dataset(member, world.company_a, "bolts", "inspection_images")
    z = make_zip(
        tmp_path / "set.zip",
        {"ok/a.png": png(1), "ok/b.png": png(2), "ng/c.png": png(3, defect=True), "ok/.DS_Store": b"x"},
    )
    v1 = datasets.add_files(member, storage.store, storage.tmp, ds, [("set.zip", z)])
    assert (v1.number, v1.item_count) == (1, 3)
    assert v1.counts == {"items": 3, "ok": 2, "ng": 1, "unlabeled": 0, "mask": 0}
    assert v1.report["skipped"] == [{"path": "ok/.DS_Store", "reason": "숨김 파일 / hidden file"}]
    with storage.store.open(v1.manifest_sha256) as f:
        manifest = f.read().decode()
    assert '"ng/c.png"' in manifest and '"label": "ng"' in manifest
    items = datasets.version_items(member, v1.id)
    for it in items:
        assert storage.store.exists(it.sha256)
    # a second upload adds on top: new version, old one unchanged; a duplicate is skipped
    v2 = datasets.add_files(
        member,
        storage.store,
        storage.tmp,
        ds,
        [("d.png", _file(tmp_path, "d.png", png(4))), ("again.png", _file(tmp_path, "again.png", png(1)))],
    )
    assert (v2.number, v2.item_count) == (2, 4)
    assert {
        "path": "again.png",
        "reason": "이전 버전에 같은 내용이 있음 / duplicate of a file in the previous version",
    } in v2.report["skipped"]
    assert datasets.count_items(member, v1.id) == 3
    assert datasets.version_items(member, v2.id, label="none")[0].path == "d.png"


def _file(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / "loose" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    "case",
    ["corrupt", "wrong_type", "traversal", "bomb", "not_a_zip"],
)
def test_bad_uploads_are_reported_and_store_nothing(
    case: str, member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds = datasets.create_dataset(member, world.company_a, "set", "inspection_images")
    good = _file(tmp_path, "good.png", png(7))
    if case == "corrupt":
        bad = [("broken.png", _file(tmp_path, "broken.png", png(8)[:200]))]
    elif case == "wrong_type":
        bad = [("notes.exe", _file(tmp_path, "notes.exe", b"MZ..."))]
    elif case == "traversal":
        bad = [("t.zip", traversal_zip(tmp_path / "t.zip"))]
    elif case == "bomb":
        bad = [("b.zip", bomb_zip(tmp_path / "b.zip"))]
    else:
        bad = [("x.zip", _file(tmp_path, "x.zip", b"PK\x03\x04 not really"))]
    before = blob_files(storage.root)
    with pytest.raises(ValidationFailed) as e:
        datasets.add_files(member, storage.store, storage.tmp, ds, [("good.png", good), *bad])
    assert e.value.problems and e.value.problems[0]["path"] in {b[0] for b in bad} | {
        "../../evil.png",
        "big.png",
    }
    assert "Nothing was stored" in str(e.value)
    assert blob_files(storage.root) == before
    assert member.scalar(select(func.count(DatasetVersion.id))) == 0
    assert member.scalar(select(func.count(BlobRef.id))) == 0
    assert not any(storage.tmp.iterdir())  # staging cleaned up


@pytest.mark.parametrize("case", ["corrupt", "wrong_type", "unsafe"])
def test_skipping_problems_stores_the_rest_but_never_an_unsafe_archive(
    case: str, member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds = datasets.create_dataset(member, world.company_a, "set", "inspection_images")
    entries = {"양품/a.png": png(1), "불량/b.png": png(2, defect=True), "양품/Thumbs.db": b"\0" * 64}
    if case == "corrupt":
        entries["양품/잘린 사진.png"] = png(3)[:200]
    elif case == "wrong_type":
        entries["메모.txt"] = "조명 교체 후 촬영".encode()
    z = make_zip(tmp_path / "parts.zip", entries, name_encoding="cp949")
    sources = (
        [("parts.zip", z)]
        if case != "unsafe"
        else [("parts.zip", z), ("t.zip", traversal_zip(tmp_path / "t.zip"))]
    )
    with pytest.raises(ValidationFailed) as refused:  # by default: nothing stored, and how to go on
        datasets.add_files(member, storage.store, storage.tmp, ds, sources)
    assert "Skip files with problems" in str(refused.value)
    (problem,) = refused.value.problems
    if case == "unsafe":
        with pytest.raises(ValidationFailed):
            datasets.add_files(member, storage.store, storage.tmp, ds, sources, skip_problems=True)
        assert member.scalar(select(func.count(DatasetVersion.id))) == 0
        return
    korean, english = problem["reason"].split(" / ", 1)
    assert (korean.split(":")[0], english.split(" ")[0]) == (
        ("손상된 이미지", "corrupt") if case == "corrupt" else ("허용되지 않는 파일 형식 .txt (허용", "wrong")
    )
    v1 = datasets.add_files(member, storage.store, storage.tmp, ds, sources, skip_problems=True)
    assert v1.counts == {"items": 2, "ok": 1, "ng": 1, "unlabeled": 0, "mask": 0}
    assert sorted(it.path for it in datasets.version_items(member, v1.id)) == ["불량/b.png", "양품/a.png"]
    assert problem in v1.report["skipped"]
    assert {"path": "양품/Thumbs.db", "reason": "Windows 시스템 파일 / Windows system file"} in v1.report[
        "skipped"
    ]


def test_storage_quota_is_enforced_per_company(
    engine: Engine, member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    with system_session(engine) as s:
        set_quota(
            s,
            None,
            world.company_a,
            weight=1.0,
            max_concurrent_jobs=None,
            cpu_hours_per_month=None,
            gpu_hours_per_month=None,
            storage_bytes=3000,
        )
    ds = datasets.create_dataset(member, world.company_a, "q", "inspection_images")
    files = [(f"{i}.png", _file(tmp_path, f"{i}.png", png(i, size=48))) for i in range(3)]
    assert sum(p.stat().st_size for _, p in files) > 3000
    with pytest.raises(QuotaExceeded):
        datasets.add_files(member, storage.store, storage.tmp, ds, files)
    assert member.scalar(select(func.count(DatasetVersion.id))) == 0
    v = datasets.add_files(member, storage.store, storage.tmp, ds, files[:1])
    assert v.item_count == 1
    member.commit()
    # company B is not limited by A's quota
    b = scoped(engine, world, "b_member")
    ds_b = datasets.create_dataset(b, world.company_b, "q", "inspection_images")
    assert datasets.add_files(b, storage.store, storage.tmp, ds_b, files).item_count == 3
    b.rollback()
    b.close()


def test_register_folder_and_tables(
    member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    folder = write_images(tmp_path / "parts", n_ok=3, n_ng=1)
    ds = datasets.create_dataset(member, world.company_a, "parts", "inspection_images")
    v = datasets.register_folder(member, storage.store, storage.tmp, ds, folder)
    assert v.counts["ok"] == 3 and v.counts["ng"] == 1
    tab = datasets.create_dataset(member, world.company_a, "press", "sensor_series")
    csv = _file(tmp_path, "press.csv", b"t,pressure\n0,1.0\n1,1.1\n")
    assert datasets.add_files(member, storage.store, storage.tmp, tab, [("press.csv", csv)]).item_count == 1
    with pytest.raises(ValidationFailed):
        datasets.add_files(
            member, storage.store, storage.tmp, tab, [("x.png", _file(tmp_path, "x.png", png(1)))]
        )
    with pytest.raises(PlatformError):
        datasets.create_dataset(member, world.company_a, "parts", "inspection_images")  # name taken
    with pytest.raises(PlatformError):
        datasets.create_dataset(member, world.company_b, "theirs", "inspection_images")  # not my company


def test_labels_with_author_become_a_new_version(
    engine: Engine, member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.png").write_bytes(png(i))
    ds = datasets.create_dataset(member, world.company_a, "flat", "inspection_images")
    v1 = datasets.register_folder(member, storage.store, storage.tmp, ds, folder)
    items = datasets.version_items(member, v1.id)
    assert v1.counts["unlabeled"] == 4
    datasets.set_label(member, items[0].id, "ng")
    datasets.set_label(member, items[1].id, "ng")
    datasets.set_label(member, items[1].id, "ok")  # changed mind: the latest counts
    with pytest.raises(PlatformError):
        datasets.set_label(member, items[2].id, "maybe")
    with pytest.raises(PlatformError):
        datasets.set_label(member, items[2].id, "ng", [0.5, 0.5, 0.4, 0.9])  # not a region
    with pytest.raises(PlatformError):
        datasets.set_label(member, items[2].id, "ok", [0.1, 0.1, 0.4, 0.4])  # regions are defects
    datasets.set_label(member, items[3].id, "ng", [0.1, 0.2, 0.5, 0.6])
    v2 = datasets.commit_labels(member, storage.store, ds)
    assert v2.counts == {"items": 4, "ok": 1, "ng": 2, "unlabeled": 1, "mask": 0}
    assert v2.report == {"labels_changed": 3, "labelers": ["member@alpha.example"]}
    new = {it.path: it for it in datasets.version_items(member, v2.id)}
    assert new[items[3].path].box == [0.1, 0.2, 0.5, 0.6] and new[items[0].path].box is None
    with storage.store.open(v2.manifest_sha256) as f:
        assert '"box": [0.1, 0.2, 0.5, 0.6]' in f.read().decode()
    assert new[items[0].path].label_by == "member@alpha.example"
    assert datasets.version_items(member, v1.id)[0].label is None  # v1 is immutable
    with pytest.raises(PlatformError):
        datasets.commit_labels(member, storage.store, ds)  # nothing new
    member.commit()
    actions = set(member.scalars(select(AuditLog.action)))
    assert {"dataset_version", "dataset_labels"} <= actions
    # company B sees none of it
    b = scoped(engine, world, "b_member")
    with pytest.raises(NotFound):
        datasets.get_dataset(b, ds.id)
    with pytest.raises(NotFound):
        datasets.set_label(b, items[0].id, "ok")
    assert b.scalar(select(func.count(DatasetItem.id))) == 0
    b.close()


def test_zip_entries_are_checked_before_extraction(tmp_path: Path) -> None:
    z = tmp_path / "links.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("ok/link.png")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    from aion.platform.validation import stage

    st = stage([("links.zip", z)], "inspection_images", tmp_path / "tmp")
    try:
        assert not st.ok and "symlink" in st.problems[0]["reason"]
    finally:
        st.cleanup()


def test_sensor_events_by_range_with_author(
    member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds = datasets.create_dataset(member, world.company_a, "pump", "sensor_series")
    csv = _file(tmp_path, "pump.csv", b"t,vib\n" + b"".join(b"%d,%d\n" % (i, i % 7) for i in range(50)))
    v1 = datasets.add_files(member, storage.store, storage.tmp, ds, [("pump.csv", csv)])
    item = datasets.version_items(member, v1.id)[0]
    with pytest.raises(PlatformError):
        datasets.set_label(member, item.id, "event")  # an event needs a range
    datasets.set_label(member, item.id, "event", [0.1, 0.0, 0.2, 1.0])
    datasets.set_label(member, item.id, None)  # clear
    datasets.set_label(member, item.id, "event", [0.5, 0.0, 0.6, 1.0])
    datasets.set_label(member, item.id, "event", [0.7, 0.0, 0.9, 1.0])
    assert [e["start"] for e in datasets.item_events(member, item)] == [0.5, 0.7]
    v2 = datasets.commit_labels(member, storage.store, ds)
    new = datasets.version_items(member, v2.id)[0]
    assert new.events == [
        {"start": 0.5, "end": 0.6, "by": "member@alpha.example"},
        {"start": 0.7, "end": 0.9, "by": "member@alpha.example"},
    ]
    assert v2.counts["events"] == 2 and datasets.version_items(member, v1.id)[0].events is None
    # the next version keeps them, and new marks add to them
    datasets.set_label(member, new.id, "event", [0.0, 0.0, 0.05, 1.0])
    v3 = datasets.commit_labels(member, storage.store, ds)
    assert len(datasets.version_items(member, v3.id)[0].events or []) == 3
