"""The defect head from boxes instead of masks: what a user who draws one box per NG image in the
labeling page gets, against exact masks and against the memory bank alone.

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_boxes.py                     # magnetic_tile, draw 0
    PYTHONPATH=$PWD python bench/inspection_boxes.py --draw 1 --modes box mask

For each mode it trains the shipped defaults (``TrainConfig``) with ``--per-kind`` masked test
images of each defect kind as labelled defects (``sample_defects(..., seed=draw)``), then
evaluates on the other test images (the head's images left out, as ``evaluate`` does):

* ``none``: no labelled defects (the memory bank alone), evaluated on the same images as the others;
* ``box``: each mask replaced by its bounding box (white inside), as the web job makes of a box
  drawn in the labeling page (``aion.platform.tasks.box_mask``);
* ``mask``: the exact masks.

Prints one JSON line per mode: pixel AUROC, AUPRO, image AUROC, images evaluated, training seconds,
and how much of its box each defect fills.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from aion.solutions.inspection import TrainConfig, evaluate, load_dataset, train
from aion.solutions.inspection.data import ImageItem, sample_defects


def boxed(items: list[ImageItem], root: Path, into: Path) -> tuple[list[ImageItem], list[float]]:
    """Copies of ``items`` whose masks are their masks' bounding boxes, and each mask's share of its box."""
    out, fills = [], []
    for it in items:
        assert it.mask_member is not None
        mask = np.asarray(Image.open(root / it.mask_member).convert("L")) > 127
        box = np.zeros_like(mask)
        ys, xs = np.nonzero(mask)
        if len(ys):
            box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
        fills.append(float(mask.sum() / max(int(box.sum()), 1)))
        stem = Path(it.name).stem
        (into / it.kind).mkdir(parents=True, exist_ok=True)
        (into / it.kind / it.name).write_bytes(it.read_bytes())
        Image.fromarray((box * 255).astype(np.uint8)).save(into / it.kind / f"{stem}_box.png")
        out.append(ImageItem(into, f"{it.kind}/{it.name}", it.name, 1, it.kind, f"{it.kind}/{stem}_box.png"))
    return out, fills


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/magnetic_tile"))
    ap.add_argument("--per-kind", type=int, default=5)
    ap.add_argument("--draw", type=int, default=0)
    ap.add_argument("--modes", nargs="+", default=["none", "box", "mask"], choices=["none", "box", "mask"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    ds = load_dataset(args.data)
    chosen = sample_defects(ds, args.per_kind, seed=args.draw)
    keys = {it.key for it in chosen}
    for mode in args.modes:
        work = Path(tempfile.mkdtemp(prefix="aion-boxes-"))
        try:
            fills: list[float] = []
            defects: list[ImageItem] | None = chosen
            if mode == "box":
                defects, fills = boxed(chosen, args.data, work)
            elif mode == "none":
                defects = None
            start = time.perf_counter()
            model = train(ds, TrainConfig(threads=args.threads), defects=defects)
            seconds = time.perf_counter() - start
            # the drawn images are left out in every mode (``evaluate`` leaves out a head's own)
            rep = evaluate(model, replace(ds, test=[it for it in ds.test if it.key not in keys]))
            row = {
                "mode": mode,
                "draw": args.draw,
                "pixel_auroc": rep.pixel_auroc,
                "aupro": rep.aupro,
                "image_auroc": rep.image_auroc,
                "n_images": rep.n_images,
                "train_seconds": round(seconds, 1),
            }
            if fills:
                row["mask_share_of_box_median"] = round(float(np.median(fills)), 3)
            print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
