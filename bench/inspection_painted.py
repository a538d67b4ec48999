"""Masks painted in the browser, end to end: what a member who paints over a few defects per kind in
the labelling page gets, measured through the real web app, beside the engine given the same masks.

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_painted.py                  # magnetic_tile, 20 per kind
    PYTHONPATH=$PWD python bench/inspection_painted.py --per-kind 5 --no-direct

The app runs on a real uvicorn server (SQLite and a data directory in a temporary folder). Through
its HTTP API, as the page does, the bench:

1. uploads a zip of the good training images (``ok/``) and ``--per-kind`` test images of each
   defect kind (``ng/``; ``sample_defects(..., seed=draw)``, the images ``aion inspect train
   --defects-per-kind`` takes);
2. paints each NG image: fetches its 1,280-px preview (the image the page shows), turns the
   ground-truth mask into what the page's canvas sends (a PNG at the preview's pixels whose alpha
   marks the defect) and ``PUT``\\ s it to ``/api/datasets/items/{id}/mask``;
3. saves the labels as a version, trains with the web form's defaults (a job on the app's local
   executor), downloads the model;
4. evaluates it on the other test images (the painted ones left out).

Beside it (``--no-direct`` skips), the engine is trained on the same images with the same masks
and the job's configuration (``train(..., defects=...)``), in the same run; with ``--zip``, also
on the version's training zip as downloaded from the version page, as ``aion inspect train`` reads
it. Prints one JSON line per path.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from appserver import EMAIL, PASSWORD, start, stop
from PIL import Image

from aion.platform.kinds import INSPECTION_DEFAULTS
from aion.solutions.inspection import InspectionModel, TrainConfig, evaluate, load_dataset, train
from aion.solutions.inspection.data import ImageItem, InspectionDataset, sample_defects

CHUNK = 8 * 1024 * 1024


def image_zip(
    ds: InspectionDataset, chosen: list[ImageItem], into: Path
) -> tuple[Path, dict[str, ImageItem]]:
    """``ok/`` the good training images, ``ng/<kind>_<name>`` the chosen defects; and which is which."""
    names: dict[str, ImageItem] = {}
    path = into / "upload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for k, it in enumerate(ds.train):
            zf.writestr(f"ok/{k:05d}_{it.name}", it.read_bytes())
        for it in chosen:
            name = f"ng/{it.kind}_{it.name}"
            zf.writestr(name, it.read_bytes())
            names[name] = it
    return path, names


def painting(item: ImageItem, size: tuple[int, int]) -> bytes:
    """What the page's canvas sends for ``item``: its mask at ``size``, painted where it is white."""
    mask = item.load_mask(size)
    assert mask is not None, item.key
    rgba = np.zeros((size[1], size[0], 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = rgba[..., 2] = 40
    rgba[..., 3] = np.where(mask > 0, 255, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def through_the_app(
    http: Any, ds: InspectionDataset, chosen: list[ImageItem], work: Path
) -> tuple[InspectionModel, dict[str, Any]]:
    csrf = {"x-csrf-token": http.cookies.get("aion_csrf", "")}
    made = http.post("/api/datasets", json={"name": "magnetic tile", "kind": "inspection_images"}).json()
    archive, names = image_zip(ds, chosen, work)
    data = archive.read_bytes()
    t0 = time.perf_counter()
    up = http.post(
        f"/api/datasets/{made['id']}/uploads", json={"filename": "tiles.zip", "size": len(data)}
    ).json()
    for offset in range(0, len(data), CHUNK):
        r = http.put(
            f"/api/uploads/{up['upload_id']}",
            params={"offset": offset},
            content=data[offset : offset + CHUNK],
            headers={"content-type": "application/octet-stream", **csrf},
        )
        r.raise_for_status()
    v1 = http.post(f"/api/datasets/{made['id']}/versions", json={"uploads": [up["upload_id"]]})
    v1.raise_for_status()
    upload_s = time.perf_counter() - t0
    items = http.get(
        f"/api/datasets/{made['id']}/versions/{v1.json()['id']}/items", params={"limit": 5000}
    ).json()
    t0 = time.perf_counter()
    painted = 0
    for it in items:
        if it["path"] not in names:
            continue
        preview = Image.open(
            io.BytesIO(http.get(f"/datasets/items/{it['id']}/preview", params={"size": 1280}).content)
        )
        r = http.put(
            f"/api/datasets/items/{it['id']}/mask",
            content=painting(names[it["path"]], preview.size),
            headers={"content-type": "image/png", **csrf},
        )
        r.raise_for_status()
        painted += 1
    paint_s = time.perf_counter() - t0
    t0 = time.perf_counter()  # the labelling page with every image listed (thumbnails load lazily)
    http.get(f"/datasets/{made['id']}/label").raise_for_status()
    label_page_s = time.perf_counter() - t0
    r = http.post(
        f"/datasets/{made['id']}/labels/commit", data={"csrf_token": csrf["x-csrf-token"], "note": "painted"}
    )
    assert r.status_code == 303, r.text  # to the new version's page
    v2 = http.get(f"/api/datasets/{made['id']}/versions").json()[0]
    job = http.post(
        "/api/jobs", json={"kind": "train_inspection", "dataset_id": made["id"], "version_id": v2["id"]}
    )
    job.raise_for_status()
    while True:
        state = http.get(f"/api/jobs/{job.json()['id']}").json()
        if state["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(1)
    if state["state"] != "succeeded":
        raise SystemExit(f"the training job ended {state['state']}: {state['error']}")
    out = state["outcome"]
    # the version as the training zip the version page offers, for the command line
    t0 = time.perf_counter()
    (work / "version.zip").write_bytes(
        http.get(f"/datasets/{made['id']}/versions/{v2['id']}/training.zip").content
    )
    zip_s = time.perf_counter() - t0
    model_file = work / "painted.aion"
    model_file.write_bytes(
        http.get(f"/models/{out['model_id']}/versions/{out['model_version_id']}/download").content
    )
    info = {
        "upload_seconds": round(upload_s, 1),
        "painted": painted,
        "paint_ms_per_image": round(1000 * paint_s / max(painted, 1), 1),
        "label_page_ms": round(1000 * label_page_s, 1),
        "training_zip_seconds": round(zip_s, 1),
        "images": len(items),
        "job_seconds": round(state["finished_at"] - state["started_at"], 1),
        "head_images": state["metrics"].get("head_images"),
    }
    return InspectionModel.load(model_file), info


def job_config(ds: InspectionDataset) -> TrainConfig:
    """The web job's configuration for these good images (``kinds.prepare_train_inspection``)."""
    return TrainConfig(
        resolution=INSPECTION_DEFAULTS.resolution, threads=1, min_bank_size=min(1000, 50 * len(ds.train))
    )


def report(path: str, rep: Any, args: argparse.Namespace, extra: dict[str, Any]) -> None:
    """One JSON line: the path measured, its accuracy on the images not painted, and ``extra``."""
    row = {"path": path, "per_kind": args.per_kind, "draw": args.draw}
    row |= {k: getattr(rep, k) for k in ("pixel_auroc", "aupro", "image_auroc", "n_images")}
    print(json.dumps(row | extra), flush=True)


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/magnetic_tile"))
    ap.add_argument("--per-kind", type=int, default=20)
    ap.add_argument("--draw", type=int, default=0)
    ap.add_argument("--no-direct", action="store_true", help="skip the engine trained directly beside it")
    ap.add_argument(
        "--zip",
        action="store_true",
        help="also train as `aion inspect train` on the version's downloaded training zip",
    )
    args = ap.parse_args()
    ds = load_dataset(args.data)
    chosen = sample_defects(ds, args.per_kind, seed=args.draw)
    keys = {it.key for it in chosen}
    rest = replace(ds, test=[it for it in ds.test if it.key not in keys])
    with tempfile.TemporaryDirectory(prefix="aion-painted-") as tmp:
        root = Path(tmp)
        app = start(root)
        try:
            with httpx.Client(base_url=app.base, timeout=600) as http:
                http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}).raise_for_status()
                model, info = through_the_app(http, ds, chosen, root)
        finally:
            stop(app)
        report("web app, painted masks", evaluate(model, rest), args, info)
        if args.zip:
            # what `aion inspect train version.zip` does with it (cli.py), with the job's configuration
            from aion.solutions.inspection.data import marked_defects

            downloaded = load_dataset(root / "version.zip")
            t0 = time.perf_counter()
            cli = train(downloaded, job_config(ds), defects=marked_defects(downloaded))
            extra = {
                "train_seconds": round(time.perf_counter() - t0, 1),
                "head_images": len(cli.meta.head_images),
            }
            report("command line, the downloaded zip", evaluate(cli, rest), args, extra)
        if not args.no_direct:
            t0 = time.perf_counter()
            direct = train(ds, job_config(ds), defects=chosen)
            seconds = time.perf_counter() - t0
            extra = {"train_seconds": round(seconds, 1), "head_images": len(direct.meta.head_images)}
            report("engine, the same masks", evaluate(direct, rest), args, extra)


if __name__ == "__main__":
    main()
