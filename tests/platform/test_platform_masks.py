"""Defect masks painted in the labelling page: checked, stored, versioned, and given to training."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.platform import datasets
from aion.platform.errors import PlatformError
from aion.platform.jobkinds import PrepareRequest
from aion.platform.kinds import prepare_train_inspection
from aion.platform.masks import MAX_MASK_SIDE, read_painted_mask
from aion.platform.models import BlobRef
from aion.platform.runtime import PlatformStorage
from aion.platform.tasks import _materialize
from tests.foundation.factories import World
from tests.platform.helpers import make_zip, png, scoped, write_images
from tests.platform.webtools import client_for, upload_resumable


def painting(w: int, h: int, region: tuple[int, int, int, int], mode: str = "RGBA") -> bytes:
    """What the page's canvas sends: transparent, with ``region`` (x0, y0, x1, y1) painted."""
    if mode == "RGBA":
        im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        im.paste((255, 40, 40, 255), region)
    else:
        im = Image.new("L", (w, h), 0)
        im.paste(255, region)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def pixels(png_bytes: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png_bytes)))


# -- the checks --------------------------------------------------------------------------------
def test_a_painting_becomes_a_binary_mask_of_its_own_pixels() -> None:
    m = read_painted_mask(painting(40, 30, (10, 5, 20, 15)), (400, 300))
    a = pixels(m.png)
    assert a.dtype == np.uint8 and a.shape == (30, 40) and set(np.unique(a).tolist()) == {0, 255}
    assert a[5:15, 10:20].all() and a.sum() == 255 * 100 and m.area == pytest.approx(100 / 1200, abs=1e-6)
    # a grey painting (no alpha), and a painting the preview's rounding made one pixel narrower
    grey = read_painted_mask(painting(40, 30, (0, 0, 5, 5), mode="L"), (39, 30))
    assert pixels(grey.png)[:5, :5].all() and pixels(grey.png).sum() == 255 * 25
    # semi-transparent strokes (antialiased edges) count from half opacity
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    im.paste((255, 0, 0, 100), (0, 0, 5, 10))
    im.paste((255, 0, 0, 200), (5, 0, 10, 10))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    assert pixels(read_painted_mask(buf.getvalue(), (10, 10)).png)[:, 5:].all()
    assert not pixels(read_painted_mask(buf.getvalue(), (10, 10)).png)[:, :5].any()


def test_bad_paintings_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(PlatformError, match="shapes differ") as e:
        read_painted_mask(painting(40, 30, (0, 0, 5, 5)), (300, 400))  # a turned image
    assert e.value.localized("ko") == "마스크는 40 x 30 픽셀, 이미지는 300 x 400 픽셀로 모양이 다릅니다."
    with pytest.raises(PlatformError, match="marks nothing"):
        read_painted_mask(painting(40, 30, (0, 0, 0, 0)), (40, 30))
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30)).save(jpeg, "JPEG")
    with pytest.raises(PlatformError, match="PNG image, not JPEG"):
        read_painted_mask(jpeg.getvalue(), (40, 30))
    with pytest.raises(PlatformError, match="cannot be read"):
        read_painted_mask(painting(40, 30, (0, 0, 5, 5))[:60], (40, 30))  # truncated
    with pytest.raises(PlatformError, match="not an image: a PNG is expected") as e:
        read_painted_mask(b"not an image at all", (40, 30))
    assert e.value.localized("ko") == "마스크가 이미지가 아닙니다. PNG 이미지여야 합니다."
    with pytest.raises(PlatformError, match=f"at most {MAX_MASK_SIDE} on a side"):
        read_painted_mask(painting(MAX_MASK_SIDE + 1, 10, (0, 0, 5, 5), mode="L"), None)
    with pytest.raises(PlatformError, match="too large"):
        read_painted_mask(b"\x89PNG" + bytes(9 * 1024 * 1024), None)


# -- stored and versioned ------------------------------------------------------------------------


def image_set(member: Session, world: World, storage: PlatformStorage, tmp_path: Path) -> Any:
    folder = write_images(tmp_path / "parts", n_ok=4, n_ng=3)
    (folder / "ng_masks").mkdir()
    file_mask = np.zeros((64, 64), np.uint8)
    file_mask[:8, :8] = 255
    Image.fromarray(file_mask).save(folder / "ng_masks" / "ng_001.png")  # a mask file for one
    ds = datasets.create_dataset(member, world.company_a, "painted", "inspection_images")
    return ds, datasets.register_folder(member, storage.store, storage.tmp, ds, folder)


def test_a_painted_mask_is_stored_versioned_and_kept_by_later_versions(
    engine: Engine, member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds, v1 = image_set(member, world, storage, tmp_path)
    items = {it.path: it for it in datasets.version_items(member, v1.id)}
    ng0, ng1, ok0 = items["ng/ng_000.png"], items["ng/ng_001.png"], items["ok/ok_000.png"]

    lab = datasets.set_mask(member, storage.store, ng0.id, painting(64, 64, (20, 20, 32, 32)))
    assert (lab.value, lab.box) == ("ng", None) and lab.mask_sha256 is not None
    stored = pixels(storage.store.path(lab.mask_sha256).read_bytes())
    assert stored[20:32, 20:32].all() and stored.sum() == 255 * 144
    assert member.scalar(select(BlobRef).where(BlobRef.sha256 == lab.mask_sha256)) is not None  # charged
    # pressing NG again keeps the painting; a box replaces it; the mask comes back when painted again
    assert datasets.set_label(member, ng0.id, "ng").mask_sha256 == lab.mask_sha256
    assert datasets.set_label(member, ng0.id, "ng", [0.1, 0.1, 0.2, 0.2]).mask_sha256 is None
    again = datasets.set_mask(member, storage.store, ng0.id, painting(64, 64, (20, 20, 32, 32)))
    assert again.mask_sha256 == lab.mask_sha256  # the same painting is the same blob
    # painting an unlabelled good image makes it NG; a mask needs NG
    assert datasets.set_mask(member, storage.store, ok0.id, painting(32, 32, (0, 0, 4, 4))).value == "ng"
    with pytest.raises(PlatformError, match="Only an NG label"):
        datasets.set_label(member, ok0.id, "ok", mask_sha256=lab.mask_sha256)
    with pytest.raises(PlatformError, match="not both"):
        datasets.set_label(member, ok0.id, "ng", [0.1, 0.1, 0.2, 0.2], lab.mask_sha256)
    with pytest.raises(PlatformError, match="shapes differ"):
        datasets.set_mask(member, storage.store, ng1.id, painting(64, 32, (0, 0, 4, 4)))
    datasets.set_label(member, ng1.id, "ng", [0.25, 0.25, 0.5, 0.5])

    v2 = datasets.commit_labels(member, storage.store, ds)
    new = {it.path: it for it in datasets.version_items(member, v2.id)}
    assert new["ng/ng_000.png"].mask_sha256 == lab.mask_sha256 and new["ng/ng_000.png"].box is None
    assert new["ok/ok_000.png"].label == "ng" and new["ok/ok_000.png"].mask_sha256
    with storage.store.open(v2.manifest_sha256) as f:
        manifest = {it["path"]: it for it in json.loads(f.read())["items"]}
    assert manifest["ng/ng_000.png"]["mask"] == lab.mask_sha256 and "mask" not in manifest["ng/ng_001.png"]

    # a later label commit and a later upload keep every mark of the items they leave alone
    datasets.set_label(member, new["ng/ng_002.png"].id, "ok")
    v3 = datasets.commit_labels(member, storage.store, ds)
    extra = tmp_path / "extra.png"
    extra.write_bytes(png(77))
    v4 = datasets.add_files(member, storage.store, storage.tmp, ds, [("ok/extra.png", extra)])
    for v in (v3, v4):
        kept = {it.path: it for it in datasets.version_items(member, v.id)}
        assert kept["ng/ng_000.png"].mask_sha256 == lab.mask_sha256
        assert kept["ng/ng_001.png"].box == [0.25, 0.25, 0.5, 0.5]
    # clearing drops the mask; "NG without its region" too
    datasets.set_label(member, kept["ng/ng_000.png"].id, "ng", keep_region=False)
    v5 = datasets.commit_labels(member, storage.store, ds)
    cleared = {it.path: it for it in datasets.version_items(member, v5.id)}
    assert cleared["ng/ng_000.png"].label == "ng" and cleared["ng/ng_000.png"].mask_sha256 is None

    member.commit()
    other = scoped(engine, world, "b_member")
    with pytest.raises(NotFound):
        datasets.set_mask(other, storage.store, ng0.id, painting(64, 64, (0, 0, 4, 4)))
    other.close()


def test_training_takes_the_painted_mask_before_a_mask_file_and_a_box(
    member: Session, world: World, storage: PlatformStorage, tmp_path: Path
) -> None:
    ds, v1 = image_set(member, world, storage, tmp_path)
    items = {it.path: it for it in datasets.version_items(member, v1.id)}
    painted = datasets.set_mask(
        member, storage.store, items["ng/ng_001.png"].id, painting(64, 64, (40, 40, 60, 60))
    )
    datasets.set_label(member, items["ng/ng_002.png"].id, "ng", [0.5, 0.5, 1.0, 1.0])
    v2 = datasets.commit_labels(member, storage.store, ds)
    req = PrepareRequest(world.company_a, v2, {"resolution": 64}, storage.store, tmp_path / "out")
    refs = {it["path"]: it for it in prepare_train_inspection(member, req).params["items"]}
    # ng_001 has a mask file too: the painting wins; ng_002 has its box; ng_000 nothing
    assert refs["ng/ng_001.png"]["mask"]["sha256"] == painted.mask_sha256
    assert refs["ng/ng_002.png"]["box"] == [0.5, 0.5, 1.0, 1.0] and "mask" not in refs["ng/ng_002.png"]
    assert "mask" not in refs["ng/ng_000.png"] and "box" not in refs["ng/ng_000.png"]

    work = tmp_path / "work"
    done = _materialize(list(refs.values()), work, storage.store.url)
    assert (done.n_ng, done.n_masks, done.n_boxes) == (3, 1, 1)
    (mask_file,) = (work / "ng_masks").iterdir()
    assert pixels(mask_file.read_bytes())[40:60, 40:60].all()
    assert done.ng_paths[f"ng/{mask_file.stem}.png"] == "ng/ng_001.png"


def uploaded(c: Any, name: str, entries: dict[str, bytes], tmp_path: Path) -> tuple[int, dict[str, int]]:
    """A data set of ``entries`` uploaded as a zip through the API: its id, and its items' ids by path."""
    ds_id = c.post("/api/datasets", json={"name": name, "kind": "inspection_images"}).json()["id"]
    up = upload_resumable(c, ds_id, "set.zip", make_zip(tmp_path / f"{name}.zip", entries).read_bytes())
    v = c.post(f"/api/datasets/{ds_id}/versions", json={"uploads": [up]}).json()
    listed = c.get(f"/api/datasets/{ds_id}/versions/{v['id']}/items").json()
    return ds_id, {it["path"]: it["id"] for it in listed}


def white_png(size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), 255).save(buf, "PNG")
    return buf.getvalue()


# -- over HTTP -----------------------------------------------------------------------------------
def test_the_mask_routes_paint_show_and_remove(app: Any, world: World, tmp_path: Path) -> None:
    c = client_for(app, world, "a_member")
    entries = {"ok/a.png": png(1), "ok/b.png": png(2), "ng/c.png": png(3, size=96, defect=True)}
    ds_id, items = uploaded(c, "web masks", entries, tmp_path)
    ng = items["ng/c.png"]
    headers = {"content-type": "image/png", "x-csrf-token": c.cookies["aion_csrf"]}

    assert c.get(f"/datasets/items/{ng}/mask").status_code == 404  # nothing painted yet
    r = c.put(f"/api/datasets/items/{ng}/mask", content=painting(96, 96, (0, 0, 48, 96)), headers=headers)
    assert r.status_code == 200, r.text
    lab = r.json()
    assert lab["value"] == "ng" and lab["mask_sha256"] and lab["author"] == world.emails["a_member"]
    shown = c.get(f"/datasets/items/{ng}/mask")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert pixels(shown.content)[:, :48].all() and not pixels(shown.content)[:, 48:].any()
    page = c.get(f"/datasets/{ds_id}/label").text
    assert f'data-mask="/datasets/items/{ng}/mask?v={lab["mask_sha256"][:12]}"' in page
    assert "NG · 마스크" in page  # the history names the kind of region

    # refused in the reader's language, nothing changed
    bad = c.put(f"/api/datasets/items/{ng}/mask", content=painting(96, 48, (0, 0, 9, 9)), headers=headers)
    assert bad.status_code == 400 and "모양이 다릅니다" in bad.json()["detail"]
    empty = c.put(f"/api/datasets/items/{ng}/mask", content=painting(96, 96, (0, 0, 0, 0)), headers=headers)
    assert empty.status_code == 400 and "칠한 곳이 없습니다" in empty.json()["detail"]
    huge = c.put(f"/api/datasets/items/{ng}/mask", content=bytes(9 * 1024 * 1024), headers=headers)
    assert huge.status_code == 400 and "너무 큽니다" in huge.json()["detail"]
    no_csrf = c.put(
        f"/api/datasets/items/{ng}/mask",
        content=painting(96, 96, (0, 0, 9, 9)),
        headers={"content-type": "image/png"},
    )
    assert no_csrf.status_code == 403
    assert c.get(f"/datasets/items/{ng}/mask").content == shown.content

    # another company's member can neither see nor paint it
    other = client_for(app, world, "b_member")
    assert other.get(f"/datasets/items/{ng}/mask").status_code == 404
    oh = {"content-type": "image/png", "x-csrf-token": other.cookies["aion_csrf"]}
    assert (
        other.put(
            f"/api/datasets/items/{ng}/mask", content=painting(96, 96, (0, 0, 9, 9)), headers=oh
        ).status_code
        == 404
    )

    spec = c.get("/api/openapi.json").json()["paths"]["/api/datasets/items/{item_id}/mask"]
    assert "image/png" in spec["put"]["requestBody"]["content"] and "delete" in spec

    # removing the painting leaves the image NG without a region
    r = c.delete(f"/api/datasets/items/{ng}/mask", headers={"x-csrf-token": c.cookies["aion_csrf"]})
    assert r.status_code == 200 and (r.json()["value"], r.json()["mask_sha256"]) == ("ng", None)
    assert c.get(f"/datasets/items/{ng}/mask").status_code == 404
    r = c.post(f"/datasets/{ds_id}/labels/commit", data={"csrf_token": c.cookies["aion_csrf"], "note": "x"})
    assert r.status_code == 200


def test_the_labelling_page_shows_an_uploaded_mask_file_on_its_image(
    app: Any, world: World, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    entries = {
        "ok/a.png": png(1),
        "ok/b.png": png(2),
        "ng/c.png": png(3, defect=True),
        "ng_masks/c.png": white_png(),
    }
    ds_id, items = uploaded(c, "with files", entries, tmp_path)
    page = c.get(f"/datasets/{ds_id}/label").text
    assert f'data-mask="/datasets/items/{items["ng_masks/c.png"]}/preview?size=1280"' in page
    assert page.count('data-mask=""') == 2  # the good images show none
    # a box drawn on it as well: the page keeps showing the mask file, which training takes
    boxed = c.post(
        f"/api/datasets/items/{items['ng/c.png']}/label", json={"value": "ng", "box": [0, 0, 0.5, 0.5]}
    )
    assert boxed.status_code == 200
    page = c.get(f"/datasets/{ds_id}/label").text
    assert f'data-mask="/datasets/items/{items["ng_masks/c.png"]}/preview?size=1280"' in page


def test_a_version_downloads_as_the_zip_aion_inspect_trains_from(
    app: Any, world: World, tmp_path: Path
) -> None:
    """The version page's zip: OK/NG folders, the painted mask, the uploaded mask file and the box
    of each NG image where the engine looks for them; ``load_dataset`` reads it as the job does."""
    from aion.platform.export import flat_names
    from aion.solutions.inspection import load_dataset

    c = client_for(app, world, "a_member")
    entries = {
        "ok/a.png": png(1),
        "parts/b.png": png(2),  # unlabelled: good, as in training
        "ng/painted.png": png(3, defect=True),
        "ng/filed.png": png(4, defect=True),
        "ng_masks/filed.png": white_png(),
        "ng/boxed.png": png(5, defect=True),
        "ng/bare.png": png(6, defect=True),
    }
    ds_id, items = uploaded(c, "export", entries, tmp_path)
    headers = {"content-type": "image/png", "x-csrf-token": c.cookies["aion_csrf"]}
    r = c.put(
        f"/api/datasets/items/{items['ng/painted.png']}/mask",
        content=painting(64, 64, (8, 8, 24, 24)),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = c.post(
        f"/api/datasets/items/{items['ng/boxed.png']}/label",
        json={"value": "ng", "box": [0.5, 0.5, 1.0, 1.0]},
    )
    assert r.status_code == 200, r.text
    r = c.post(
        f"/datasets/{ds_id}/labels/commit", data={"csrf_token": c.cookies["aion_csrf"], "note": "marks"}
    )
    assert r.status_code == 200, r.text
    v2 = c.get(f"/api/datasets/{ds_id}/versions").json()[0]
    assert "training.zip" in c.get(f"/datasets/{ds_id}/versions/{v2['id']}").text  # offered on the page

    r = c.get(f"/datasets/{ds_id}/versions/{v2['id']}/training.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = tmp_path / "export.zip"
    archive.write_bytes(r.content)
    name = flat_names(entries)  # the names the zip gives the data set's files
    with zipfile.ZipFile(archive) as zf:
        listed = set(zf.namelist())
        index = {e["path"]: e for e in json.loads(zf.read("aion-export.json"))["images"]}
        assert zf.read(f"ok/{name['ok/a.png']}") == entries["ok/a.png"]  # stored as uploaded
        painted_mask = pixels(zf.read("ng_masks/ng__painted.png"))
        boxed_mask = pixels(zf.read("ng_boxes/ng__boxed.png"))
    assert {f"ok/{name['parts/b.png']}", "ng/ng__bare.png", "ng_masks/ng__filed.png"} <= listed
    assert not any(n.startswith("ng_masks/ng__bare") or n.startswith("ng_boxes/ng__bare") for n in listed)
    assert painted_mask[8:24, 8:24].all() and painted_mask.sum() == 255 * 256
    assert boxed_mask[32:, 32:].all() and not boxed_mask[:32].any()
    assert {p: e["region"] for p, e in index.items() if e["label"] == "ng"} == {
        "ng/painted.png": "painted mask",
        "ng/filed.png": "mask file",
        "ng/boxed.png": "box",
        "ng/bare.png": "",
    }

    loaded = load_dataset(archive)
    assert loaded.layout == "okng" and len(loaded.train) == 2
    masks = {it.name: (it.mask_member, it.mask_is_box) for it in loaded.test if it.label == 1}
    assert masks == {
        "ng__painted.png": ("ng_masks/ng__painted.png", False),
        "ng__filed.png": ("ng_masks/ng__filed.png", False),
        "ng__boxed.png": ("ng_boxes/ng__boxed.png", True),
        "ng__bare.png": (None, False),
    }
    # another company's member gets nothing
    other = client_for(app, world, "b_member")
    assert other.get(f"/datasets/{ds_id}/versions/{v2['id']}/training.zip").status_code == 404
