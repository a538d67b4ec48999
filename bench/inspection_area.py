"""A printed lot number on every part: what an ignore box (``area.py``) is worth.

Run from the repository root (reads ``../shared/data``; writes only under a temporary folder)::

    PYTHONPATH=$PWD python bench/inspection_area.py
    PYTHONPATH=$PWD python bench/inspection_area.py --sets casting magnetic_tile

Each photo of the set gets a white label in its top-left corner with a lot number printed on it,
as a part stamped with its lot: the good training photos come from three lots, the test photos
(good and defective) from three others, as new parts would. Then, at the engine's defaults:

* **no label**: the set as it is (the reference);
* **label, whole photo** (the peer): trained and tested on the labelled photos, nothing ignored;
* **label, ignored**: the same, with the label's box (and a margin) as an ignore box.

With ``--new-colour`` the new lots' labels are yellow with red print (colour-coded lot tags); the
training lots' stay white with black print.

Each row gives the image AUROC on the test split, the false-reject and escape rates at the
model's own threshold (1% target false-reject rate on held-back good photos), the training time
and the exported model's milliseconds per image (``evaluate``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LOTS = {"train": ("LOT 0312", "LOT 0313", "LOT 0321"), "test": ("LOT 0487", "LOT 0596", "LOT 0965")}
#: Label and print colours: the training lots', and the new lots' with ``--new-colour`` (a label
#: of another colour for each lot or shift, as colour-coded lot tags are).
WHITE, INK = (238, 238, 238), (15, 15, 15)
NEW_LABEL, NEW_INK = (250, 215, 60), (200, 30, 30)
#: The label's box (fractions of the photo), and the ignore box: the label with a margin.
LABEL = (0.03, 0.03, 0.36, 0.12)
IGNORE = "0.01,0.01,0.38,0.14"


def _stamp(src: Path, dst: Path, lot: str, colours: tuple[tuple[int, int, int], ...] = (WHITE, INK)) -> None:
    img = Image.open(src).convert("RGB")
    w, h = img.size
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = (int(LABEL[0] * w), int(LABEL[1] * h), int(LABEL[2] * w), int(LABEL[3] * h))
    draw.rectangle([x0, y0, x1, y1], fill=colours[0])
    font = ImageFont.load_default(size=max(8, int(0.7 * (y1 - y0))))
    draw.text((x0 + 3, y0 + 1), lot, fill=colours[1], font=font)
    dst.parent.mkdir(parents=True, exist_ok=True)
    img.save(dst.with_suffix(".png"))


def _labelled_copy(root: Path, out: Path, seed: int, new_colour: bool) -> None:
    """The set's photos with a lot label: training photos from the training lots, test photos from
    others (on a label of another colour with ``new_colour``); ground-truth masks copied as they are."""
    rng = np.random.default_rng(seed)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if rel.parts[0] == "ground_truth":
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(path.read_bytes())
        elif rel.parts[0] in ("train", "test"):
            lots = LOTS["train" if rel.parts[0] == "train" else "test"]
            colours = (NEW_LABEL, NEW_INK) if new_colour and rel.parts[0] == "test" else (WHITE, INK)
            _stamp(path, out / rel, lots[int(rng.integers(len(lots)))], colours)


def _row(name: str, data: Path, area: Any) -> dict[str, Any]:
    from aion.solutions.inspection import TrainConfig, evaluate, load_dataset, train

    ds = load_dataset(data)
    t0 = time.perf_counter()
    model = train(ds, TrainConfig(threads=2, area=area))
    seconds = time.perf_counter() - t0
    rep = evaluate(model, ds)
    return {
        "setting": name,
        "image_auroc": rep.image_auroc,
        "pixel_auroc": rep.pixel_auroc,
        "false_reject_rate": rep.false_reject_rate,
        "escape_rate": rep.escape_rate,
        "train_seconds": round(seconds, 1),
        "ms_per_image": rep.ms_per_image,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", nargs="+", default=["casting"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--new-colour", action="store_true", help="New lots' labels in another colour.")
    parser.add_argument("--no-reference", action="store_true", help="Skip the unlabelled set's row.")
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    args = parser.parse_args()

    from aion.solutions.inspection.area import InspectionArea

    rows = []
    for name in args.sets:
        root = args.data / name
        if not root.exists():
            print(f"{root}: missing, skipped")
            continue
        with tempfile.TemporaryDirectory(prefix="aion-area-") as tmp:
            labelled = Path(tmp) / name
            _labelled_copy(root, labelled, args.seed, args.new_colour)
            label = "new-colour label" if args.new_colour else "label"
            settings = [("no label", root, InspectionArea())] if not args.no_reference else []
            settings += [
                (f"{label}, whole photo", labelled, InspectionArea()),
                (f"{label}, ignored", labelled, InspectionArea.parse(None, [IGNORE])),
            ]
            for setting, data, area in settings:
                row = {"set": name, **_row(setting, data, area)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print("| set | setting | image AUROC | pixel AUROC | false rejects | escapes | training s | ms/image |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        px = f"{r['pixel_auroc']:.4f}" if r["pixel_auroc"] is not None else "-"
        print(
            f"| {r['set']} | {r['setting']} | {r['image_auroc']:.4f} | {px} | {r['false_reject_rate']:.1%} | "
            f"{r['escape_rate']:.1%} | {r['train_seconds']} | {r['ms_per_image']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
