"""Input handling: data set layouts, zips, and corrupt / truncated / empty / oversized images."""

from __future__ import annotations

import io
import struct
import weakref
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aion.solutions.inspection import BadImageError, DatasetError, load_dataset
from aion.solutions.inspection.images import decode_image, read_image

from .conftest import make_mvtec, save, texture


def _png_bytes(img: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, **kw)
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces ``width x height`` pixels (a decompression bomb)."""
    raw = _png_bytes(np.zeros((1, 1), np.uint8))
    ihdr = raw.index(b"IHDR")
    body = b"IHDR" + struct.pack(">II", width, height) + raw[ihdr + 12 : ihdr + 17]
    return raw[:ihdr] + body + struct.pack(">I", zlib.crc32(body)) + raw[ihdr + 21 :]


def write_bad_images(folder: Path) -> dict[str, str]:
    """Write one file per kind of bad input; return name -> kind."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _png_bytes(texture(np.random.default_rng(0)))
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "text.jpg").write_bytes(b"hello, not an image")
    (folder / "bomb.png").write_bytes(bomb_png(30000, 30000))
    return {"empty.png": "empty", "corrupt.png": "corrupt", "truncated.png": "truncated", "text.jpg": "text"}


def test_decode_formats_and_modes() -> None:
    rng = np.random.default_rng(1)
    gray = texture(rng, size=40)
    for fmt in ("PNG", "JPEG", "BMP", "TIFF"):
        arr = decode_image(_png_bytes(gray, fmt), f"x.{fmt.lower()}")
        assert arr.shape == (40, 40, 3) and arr.dtype == np.uint8
    rgba = np.dstack([texture(rng, size=30, color=True), np.full((30, 30), 255, np.uint8)])
    assert decode_image(_png_bytes(rgba), "a.png").shape == (30, 30, 3)
    deep = (gray.astype(np.uint16) * 200).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(deep).save(buf, format="PNG")
    arr = decode_image(buf.getvalue(), "deep.png")
    assert arr.shape == (40, 40, 3)  # 16-bit values up to 51,000 of 65,535 stay that grey
    assert np.abs(arr[..., 0].astype(int) - np.rint(deep.astype(float) * 255 / 65535)).max() <= 1


def _tiff16(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(buf, format="TIFF")
    return buf.getvalue()


def test_a_cameras_deep_images_keep_their_brightness_from_image_to_image() -> None:
    """A 12-bit camera's images (16-bit TIFF files, values up to 4,095): the same grey level is the
    same 8-bit level in every image, so a dark part stays dark, and a hot pixel at the sensor's
    top does not dim the rest of its image."""
    rng = np.random.default_rng(4)
    surface = rng.integers(2800, 3300, size=(32, 32))
    bright = decode_image(_tiff16(surface), "bright.tif")[..., 0]
    dark = decode_image(_tiff16(surface // 2), "dark.tif")[..., 0]
    assert abs(float(bright.mean()) - 3050 * 255 / 4095) < 2  # read as 12 bits: 4,095 is white
    assert abs(float(dark.mean()) * 2 - float(bright.mean())) < 2  # half the light, half the grey
    hot = surface.copy()
    hot[5, 5] = 4095
    with_hot = decode_image(_tiff16(hot), "hot.tif")[..., 0]
    assert with_hot[5, 5] == 255
    assert np.array_equal(np.delete(with_hot.ravel(), 5 * 32 + 5), np.delete(bright.ravel(), 5 * 32 + 5))


@pytest.mark.parametrize("name", ["empty.png", "corrupt.png", "truncated.png", "text.jpg", "bomb.png"])
def test_bad_images_raise_with_their_name(tmp_path: Path, name: str) -> None:
    write_bad_images(tmp_path)
    with pytest.raises(BadImageError) as err:
        read_image(tmp_path / name)
    assert name in str(err.value)
    assert "Skipped" in str(err.value) and "건너뜀" in str(err.value)


def test_predict_skips_bad_files(trained, tmp_path: Path) -> None:
    _, _, edge = trained
    write_bad_images(tmp_path)
    save(texture(np.random.default_rng(3)), tmp_path / "fine.png")
    paths = sorted(tmp_path.iterdir())
    batch = edge.predict_files(paths)
    assert [Path(p.name).name for p in batch.predictions] == ["fine.png"]
    assert sorted(s.name.split("/")[-1] for s in batch.skipped) == sorted(
        ["bomb.png", "corrupt.png", "empty.png", "text.jpg", "truncated.png"]
    )


def test_training_and_evaluation_skip_bad_images(tmp_path: Path) -> None:
    from aion.solutions.inspection import TrainConfig, evaluate, train

    root = make_mvtec(tmp_path / "d", seed=4, n_train=6, n_test_good=2, n_defect=2)
    write_bad_images(root / "train" / "good")
    write_bad_images(root / "test" / "good")
    model = train(root, TrainConfig(resolution=64, threads=2, min_bank_size=100))
    assert {s.name for s in model.train_report_.skipped} == {
        "bomb.png",
        "corrupt.png",
        "empty.png",
        "text.jpg",
        "truncated.png",
    }
    # the 6 readable images: every one in the bank and, a set this small, every one calibrating
    assert model.train_report_.n_fit_images == model.train_report_.n_calibration_images == 6
    assert model.meta.n_train_images == 6
    report = evaluate(model, root)
    assert report.n_images == 4 and len(report.skipped) == 5
    # a damaged mask: its image still counts for the image metrics, its pixels do not
    mask = sorted((root / "ground_truth").rglob("*_mask.png"))[0]
    mask.write_bytes(mask.read_bytes()[:40])
    damaged = evaluate(model, root)
    assert damaged.n_images == 4 and damaged.image_auroc == report.image_auroc
    assert {s.name for s in damaged.skipped} - {s.name for s in report.skipped} == {mask.name}
    assert damaged.pixel_auroc is not None  # from the other defect's mask


def test_mvtec_layout(tmp_path: Path) -> None:
    root = make_mvtec(tmp_path / "m", n_train=3, n_test_good=2, n_defect=2)
    ds = load_dataset(root)
    assert ds.layout == "mvtec"
    assert ds.summary() == {"train": 3, "test_good": 2, "test_defect": 2}
    defects = [it for it in ds.test if it.label == 1]
    assert all(it.mask_member is not None for it in defects)
    mask = defects[0].load_mask((32, 32))
    assert mask is not None and mask.shape == (32, 32) and mask.any()
    good_mask = next(it for it in ds.test if it.label == 0).load_mask((32, 32))
    assert good_mask is not None and not good_mask.any()


def test_okng_zip_with_wrapping_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    zpath = tmp_path / "parts.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for i in range(3):
            zf.writestr(f"parts/OK/{i}.png", _png_bytes(texture(rng)))
        zf.writestr("parts/NG/bad.jpg", _png_bytes(texture(rng), "JPEG"))
        zf.writestr("parts/readme.txt", "notes")
        zf.writestr("__MACOSX/parts/._0.png", b"junk")
    ds = load_dataset(zpath)
    assert ds.layout == "okng"
    assert len(ds.train) == 3 and [it.name for it in ds.train_defects] == ["bad.jpg"]
    assert ds.train[0].load().shape == (96, 96, 3)


def test_flat_folder_and_missing_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for i in range(2):
        save(texture(rng), tmp_path / "flat" / f"{i}.bmp")
    ds = load_dataset(tmp_path / "flat")
    assert ds.layout == "flat" and len(ds.train) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match="nowhere"):
        load_dataset(tmp_path / "nowhere")


def test_training_decodes_a_batch_of_images_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aion.solutions.inspection import TrainConfig, train
    from aion.solutions.inspection.data import ImageItem

    root = make_mvtec(tmp_path / "d", seed=5, n_train=20, n_test_good=1, n_defect=1)
    alive: list[weakref.ref[np.ndarray]] = []
    most = 0
    load = ImageItem.load_fingerprinted  # how training decodes a good image

    def tracked(self: ImageItem) -> tuple[np.ndarray, str]:
        nonlocal most
        image, fp = load(self)
        alive.append(weakref.ref(image))
        most = max(most, sum(r() is not None for r in alive))
        return image, fp

    monkeypatch.setattr(ImageItem, "load_fingerprinted", tracked)
    model = train(root, TrainConfig(resolution=64, threads=2, min_bank_size=100, batch_size=4))
    assert model.meta.n_train_images == 20 and len(alive) == 20
    # decoded images live for their batch (and the next one being decoded), not the whole set
    assert most <= 2 * 4
