"""Image previews: any stored format shown by the browser as a small JPEG (PNG for masks)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aion.platform.errors import PlatformError
from aion.platform.previews import make_preview, preview_blob, preview_ref
from aion.platform.storage.blobstore import LocalBlobStore
from tests.foundation.factories import World
from tests.platform.helpers import make_zip, png
from tests.platform.webtools import client_for, upload_resumable


def encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def grey16_tiff(w: int = 900, h: int = 300) -> bytes:
    """A 16-bit grey TIFF (what industrial cameras write; browsers cannot show it): a ramp."""
    ramp = np.tile(np.linspace(0, 65535, w).astype(np.uint16), (h, 1))
    return encoded(Image.fromarray(ramp), "TIFF")


def test_a_16_bit_tiff_becomes_a_shrunk_jpeg_with_its_shape_and_tones() -> None:
    out = Image.open(io.BytesIO(make_preview(grey16_tiff(), "cam.tif", 256)))
    assert out.format == "JPEG" and out.size == (256, 85)  # longer side 256, aspect kept
    a = np.asarray(out.convert("L"), dtype=float)
    assert a[:, :10].mean() < 20 and a[:, -10:].mean() > 235  # the ramp's dark and bright ends
    small = encoded(Image.new("RGB", (100, 50), (10, 200, 30)), "BMP")
    kept = Image.open(io.BytesIO(make_preview(small, "s.bmp", 256)))
    assert kept.size == (100, 50)  # never enlarged
    assert np.abs(np.asarray(kept, dtype=int)[25, 50] - (10, 200, 30)).max() < 8


def test_exif_rotation_is_applied_as_the_engine_reads_the_image() -> None:
    img = Image.new("RGB", (400, 200), (128, 128, 128))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(make_preview(buf.getvalue(), "r.jpg", 256))).size == (128, 256)


def test_a_mask_stays_two_valued_png() -> None:
    m = np.zeros((300, 600), np.uint8)
    m[100:200, 200:400] = 255
    out = Image.open(io.BytesIO(make_preview(encoded(Image.fromarray(m), "PNG"), "m.png", 256, mask=True)))
    assert out.format == "PNG" and out.size == (256, 128)
    assert set(np.unique(np.asarray(out)).tolist()) == {0, 255}


def test_bad_sizes_and_bad_images_name_what_is_wrong() -> None:
    with pytest.raises(PlatformError, match="999.*256, 1280"):
        make_preview(png(0), "a.png", 999)
    with pytest.raises(PlatformError, match="broken.png"):
        make_preview(png(0)[:40], "broken.png", 256)


def test_a_preview_is_made_once_and_again_if_its_blob_is_gone(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = store.put_stream(io.BytesIO(grey16_tiff())).sha256
    first = preview_blob(store, src, "cam.tif", 256)
    assert store.get_ref(preview_ref(src, 256)) == first and first != src
    assert preview_blob(store, src, "cam.tif", 256) == first
    big = preview_blob(store, src, "cam.tif", 1280)
    with Image.open(store.path(big)) as im:
        assert im.size == (900, 300)  # 900 < 1280: kept
    assert store.delete(first)
    assert preview_blob(store, src, "cam.tif", 256) == first  # made again (same bytes, same hash)
    assert store.exists(first)


def test_pages_show_previews_of_a_tiff_data_set(app: Any, world: World, tmp_path: Path) -> None:
    c = client_for(app, world, "a_member")
    ds = c.post("/api/datasets", json={"name": "camera", "kind": "inspection_images"}).json()
    entries = {"ok/a.tif": grey16_tiff(), "ok/b.png": png(1), "ng/c.png": png(2)}
    archive = make_zip(tmp_path / "cam.zip", entries, zipfile.ZIP_STORED)  # a ramp deflates like a bomb
    up = upload_resumable(c, ds["id"], "cam.zip", archive.read_bytes())
    v = c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up]}).json()
    assert "id" in v, v
    items = {
        it["path"]: it["id"] for it in c.get(f"/api/datasets/{ds['id']}/versions/{v['id']}/items").json()
    }
    tif = items["ok/a.tif"]

    r = c.get(f"/datasets/items/{tif}/preview")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size == (256, 85)
    r = c.get(f"/datasets/items/{tif}/preview?size=1280")
    assert Image.open(io.BytesIO(r.content)).size == (900, 300)
    assert c.get(f"/datasets/items/{tif}/file").headers["content-type"] == "image/tiff"  # the original
    bad = c.get(f"/datasets/items/{tif}/preview?size=4096")
    assert bad.status_code == 400 and "4096" in bad.text

    page = c.get(f"/datasets/{ds['id']}/versions/{v['id']}").text
    size = sum(len(d) for d in entries.values())
    assert f"<dd>3 ({size / 1024:.1f} KiB)</dd>" in page  # the version's size in binary units
    assert f"/datasets/items/{tif}/preview?size=256" in page
    # the training form says what two good images can promise: each scored left out, 1 in 3 at best
    hint = page[page.index('id="frr-floor"') :][:200]
    assert "양품 이미지 2장 중 2장이" in hint and "약 33.3%" in hint
    # ... and that accuracy kept rising up to several hundred good images
    few = page[page.index('id="few-good"') :][:200]
    assert "양품 이미지 2장: 벤치마크 두 세트 모두" in few
    label = c.get(f"/datasets/{ds['id']}/label").text
    assert f'data-src="/datasets/items/{tif}/preview?size=1280"' in label
    assert label.count("폴더로 분류됨 (ok/, ng/)") == 3  # labelled by their folders, said in Korean

    # another company's member gets nothing
    other = client_for(app, world, "b_member")
    assert other.get(f"/datasets/items/{tif}/preview").status_code == 404
