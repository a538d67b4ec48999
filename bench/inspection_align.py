"""A part that lands somewhere else in every photo: what following it (``align.py``) is worth.

Run from the repository root (reads ``../shared/data``; writes only under a temporary folder)::

    PYTHONPATH=$PWD python bench/inspection_align.py
    PYTHONPATH=$PWD python bench/inspection_align.py --shift 0.2 --visitors 0
    PYTHONPATH=$PWD python bench/inspection_align.py --view 640 --shift 0.2 --turn 10 --no-reference
    PYTHONPATH=$PWD python bench/inspection_align.py --view 640 --shift 0.2 --turn 10 --follow-turn 25 --part tray --no-reference

Each casting photo (300 x 300) is placed on a wider view of a grey belt (``--view``, 480 x 480) at a random
spot (up to ``--shift`` of the view's side from the middle in each direction), the part cut out
with a soft round edge, as a camera above a conveyor or a loose fixture sees it; in
``--visitors`` of the photos something else lies on the belt beside it (a bright or dark box).
With ``--turn`` each part is also turned by up to that many degrees either way; ``--follow-turn``
adds a row whose crop also turns with the part (``InspectionArea(turn=...)``). ``--part tray``
puts each casting (shrunk to 220 px, cut out round) on a square carrier with a rim, bolt holes, a
notch and a label, and it is the carrier that moves and turns: a part with corners whose look
says which way it faces (the castings themselves lie at any angle in their photos, so a round
casting alone has no direction to find). Then, at the engine's defaults (the model's own threshold, 1% target false-reject rate):

* **still** (the reference): the set as it is, every part where the camera saw it;
* **moving, whole photo** (the peer): the wider view, nothing cropped;
* **moving, crop held still**: a box round the part as it lies in the first training photo;
* **moving, crop follows the part**: the same box with ``align=True``;
* **moving, crop follows and turns** (with ``--follow-turn``): also ``turn=``.

Each row gives the image AUROC on the test split, the false-reject and escape rates, the training
time and the exported model's milliseconds per image (``evaluate``). The last lines give how far
the followed crop lay from where each test part was placed (pixels of the view) and the time to
find the part in one photo.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PART = 300
#: The box round the part inside its 300 x 300 photo (the casting fills most of it).
AROUND = (10, 10, 290, 290)


def _belt(rng: np.random.Generator, visitor: bool, view: int) -> Image.Image:
    y, x = np.mgrid[0:view, 0:view]
    belt = 150 + 6 * np.sin(x / 7.0 + rng.uniform(0, 6)) + rng.normal(0, 5, (view, view))
    img = Image.fromarray(np.clip(belt, 0, 255).astype(np.uint8)).convert("RGB")
    if visitor:  # something else on the belt: a bright or dark box at an edge of the view
        w, h = int(rng.integers(30, 70)), int(rng.integers(30, 70))
        side = int(rng.integers(4))
        at = int(rng.integers(0, view - 70))
        x0, y0 = [(0, at), (view - w, at), (at, 0), (at, view - h)][side]
        colour = (240, 240, 230) if rng.random() < 0.5 else (25, 25, 30)
        img.paste(colour, (x0, y0, x0 + w, y0 + h))
    return img


def _cutout(shape: str = "round") -> Image.Image:
    """The part's cut-out with a soft edge: the round casting (its photo's corners are fixture,
    not part), or the whole square carrier."""
    m = Image.new("L", (PART, PART), 0)
    if shape == "tray":
        ImageDraw.Draw(m).rectangle([2, 2, PART - 3, PART - 3], fill=255)
    else:
        ImageDraw.Draw(m).ellipse([6, 6, PART - 6, PART - 6], fill=255)
    return m.filter(ImageFilter.GaussianBlur(2 if shape == "tray" else 4))


#: The casting's size on its carrier (``--part tray``).
ON_TRAY = 220


def _tray(casting: Image.Image) -> Image.Image:
    """The carrier with ``casting`` at its middle: a grey plate with a dark rim, three bolt holes
    and a notch at one corner, and a white label (the same on every carrier)."""
    tray = Image.new("RGB", (PART, PART), (112, 112, 116))
    draw = ImageDraw.Draw(tray)
    draw.rectangle([0, 0, PART - 1, PART - 1], outline=(40, 40, 44), width=8)
    for cx, cy in ((PART - 24, 24), (PART - 24, PART - 24), (24, PART - 24)):
        draw.ellipse([cx - 9, cy - 9, cx + 9, cy + 9], fill=(20, 20, 22))
    draw.polygon([(0, PART - 1), (0, PART - 60), (60, PART - 1)], fill=(30, 30, 34))
    draw.rectangle([14, 14, 96, 40], fill=(236, 236, 230))
    draw.text((20, 20), "TRAY A-07", fill=(20, 20, 20))
    round_cut = Image.new("L", (ON_TRAY, ON_TRAY), 0)
    ImageDraw.Draw(round_cut).ellipse([4, 4, ON_TRAY - 4, ON_TRAY - 4], fill=255)
    at = (PART - ON_TRAY) // 2
    tray.paste(
        casting.resize((ON_TRAY, ON_TRAY), Image.Resampling.BILINEAR),
        (at, at),
        round_cut.filter(ImageFilter.GaussianBlur(3)),
    )
    return tray


#: Room round the part's photo for its corners as it turns.
MARGIN = 64


def _put(
    photo: Image.Image, path: Path, at: tuple[int, int], turn: float, shape: str, cut: Image.Image
) -> None:
    """Paste the part's photo (on its carrier for ``tray``) through ``cut`` onto ``photo`` with its
    top-left at ``at``, turned by ``turn`` degrees about its centre (a carrier's corners too)."""
    img = Image.open(path).convert("RGB")
    if shape == "tray":
        img = _tray(img)
    if not turn:
        photo.paste(img, at, cut)
        return
    size = PART + 2 * MARGIN
    room, mask = Image.new("RGB", (size, size)), Image.new("L", (size, size), 0)
    room.paste(img, (MARGIN, MARGIN))
    mask.paste(cut, (MARGIN, MARGIN))
    how = Image.Resampling.BILINEAR
    photo.paste(
        room.rotate(turn, resample=how), (at[0] - MARGIN, at[1] - MARGIN), mask.rotate(turn, resample=how)
    )


def _moving_copy(
    root: Path,
    out: Path,
    seed: int,
    shift: float,
    visitors: float,
    view: int,
    turn: float = 0.0,
    shape: str = "round",
) -> dict[str, list[float]]:
    """The set's photos placed on the belt; where each part's photo was put (its top-left) and by
    how many degrees it was turned."""
    rng = np.random.default_rng(seed)
    cut = _cutout(shape)
    span = (view - PART) / 2
    where: dict[str, list[float]] = {}
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] in ("train", "test")
    )
    for path in files:
        rel = path.relative_to(root)
        dx, dy = rng.uniform(-shift * view, shift * view, 2)
        at = (int(round(span + np.clip(dx, -span, span))), int(round(span + np.clip(dy, -span, span))))
        angle = float(rng.uniform(-turn, turn)) if turn else 0.0
        photo = _belt(rng, bool(rng.random() < visitors), view)
        _put(photo, path, at, angle, shape, cut)
        dst = (out / rel).with_suffix(".png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        photo.save(dst)
        where[str(rel.with_suffix(".png"))] = [at[0], at[1], angle]
    return where


def _row(name: str, data: Path, area: Any, reference: str | None = None) -> tuple[dict[str, Any], Any]:
    from aion.solutions.inspection import TrainConfig, evaluate, load_dataset, train

    ds = load_dataset(data)
    t0 = time.perf_counter()
    model = train(ds, TrainConfig(threads=2, area=area, align_reference=reference))
    seconds = time.perf_counter() - t0
    rep = evaluate(model, ds)
    row = {
        "setting": name,
        "image_auroc": rep.image_auroc,
        "false_reject_rate": rep.false_reject_rate,
        "escape_rate": rep.escape_rate,
        "train_seconds": round(seconds, 1),
        "ms_per_image": rep.ms_per_image,
    }
    return row, model


def _placement(
    model: Any, root: Path, data: Path, where: dict[str, list[float]], view: int, shape: str = "round"
) -> dict[str, float]:
    """How far the followed crop lay from where it should: each test part is also placed, alone on
    a clean belt, exactly where the reference photo's part was put; the crop found there, moved by
    the difference between the two placements, is where the crop belongs in the moving photo (the
    castings themselves sit a little differently in each original photo, so the placements alone
    do not say where the part is). Also the time to find the part in one photo."""
    from aion.solutions.inspection.images import read_image

    ref_at = where[sorted(k for k in where if k.startswith("train/"))[0]]
    ref, ref_angle = [int(v) for v in ref_at[:2]], float(ref_at[2])
    cut, rng = _cutout(shape), np.random.default_rng(1)
    errors, seconds, angle_errors = [], [], []
    for rel, (ax, ay, angle) in sorted(where.items()):
        if not rel.startswith("test/"):
            continue
        image = read_image(data / rel)
        t0 = time.perf_counter()
        placed = model.place(image)
        seconds.append(time.perf_counter() - t0)
        cx, cy = placed.area.crop_pixels(view, view)[:2]
        alone = _belt(rng, False, view)
        original = next((root / rel).parent.glob(Path(rel).stem + ".*"))
        _put(alone, original, (ref[0], ref[1]), angle, shape, cut)
        bx, by = model.place(np.asarray(alone)).area.crop_pixels(view, view)[:2]
        errors.append(float(np.hypot(cx - (bx + ax - ref[0]), cy - (by + ay - ref[1]))))
        if model.area.turn:  # the angle found is the turn from the reference photo's part
            angle_errors.append(abs(placed.area.angle - (angle - ref_angle)))
    e = np.asarray(errors)
    turned = (
        {
            "reference_angle_deg": round(ref_angle, 2),
            "angle_error_mean_deg": round(float(np.mean(angle_errors)), 2),
            "angle_error_p95_deg": round(float(np.quantile(angle_errors, 0.95)), 2),
            "angle_error_max_deg": round(float(np.max(angle_errors)), 2),
        }
        if angle_errors
        else {}
    )
    return {
        **turned,
        "n": len(e),
        "mean_px": round(float(e.mean()), 2),
        "p95_px": round(float(np.quantile(e, 0.95)), 2),
        "max_px": round(float(e.max()), 2),
        "within_4px": round(float((e <= 4).mean()), 4),
        "ms_to_find": round(1000 * float(np.median(seconds)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--set", default="casting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--view", type=int, default=480, help="The camera's view (pixels a side).")
    parser.add_argument("--shift", type=float, default=0.15, help="Largest move, a share of the view's side.")
    parser.add_argument("--turn", type=float, default=0.0, help="Largest turn of a part, degrees either way.")
    parser.add_argument(
        "--follow-turn",
        type=float,
        default=0.0,
        help="Add a row whose crop also turns, up to this many degrees.",
    )
    parser.add_argument("--part", choices=("round", "tray"), default="round", help="The part's shape.")
    parser.add_argument(
        "--visitors", type=float, default=0.3, help="Share of photos with something beside the part."
    )
    parser.add_argument("--no-reference", action="store_true", help="Skip the still set's row.")
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    args = parser.parse_args()

    from aion.solutions.inspection.area import Box, InspectionArea

    root = args.data / args.set
    if not root.exists():
        raise SystemExit(f"{root}: missing")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aion-align-") as tmp:
        moving = Path(tmp) / args.set
        where = _moving_copy(
            root, moving, args.seed, args.shift, args.visitors, args.view, args.turn, args.part
        )
        first = sorted(k for k in where if k.startswith("train/"))[0]
        ax, ay = (int(v) for v in where[first][:2])
        crop = Box(*(v / args.view for v in (ax + AROUND[0], ay + AROUND[1], ax + AROUND[2], ay + AROUND[3])))
        settings: list[tuple[str, Path, Any]] = (
            [] if args.no_reference else [("still", root, InspectionArea())]
        )
        settings += [
            ("moving, whole photo", moving, InspectionArea()),
            ("moving, crop held still", moving, InspectionArea(crop)),
            ("moving, crop follows the part", moving, InspectionArea(crop, align=True)),
        ]
        if args.follow_turn:
            settings.append(
                (
                    "moving, crop follows and turns",
                    moving,
                    InspectionArea(crop, align=True, turn=args.follow_turn),
                )
            )
        placement: dict[str, float] = {}
        for setting, data, area in settings:
            row, model = _row(setting, data, area, first if area.align else None)
            rows.append(
                {
                    "set": args.set,
                    "view": args.view,
                    "shift": args.shift,
                    "turn": args.turn,
                    "part": args.part,
                    "visitors": args.visitors,
                    **row,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            if area.align:
                placement = _placement(model, root, moving, where, args.view, args.part)
                print(json.dumps({"placement": placement}), flush=True)
    print()
    print("| setting | image AUROC | false rejects | escapes | training s | ms/image |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['setting']} | {r['image_auroc']:.4f} | {r['false_reject_rate']:.1%} | "
            f"{r['escape_rate']:.1%} | {r['train_seconds']} | {r['ms_per_image']:.1f} |"
        )
    if placement:
        print(
            f"\nfollowed crop vs the part's true place ({placement['n']} test photos): mean "
            f"{placement['mean_px']} px, 95th percentile {placement['p95_px']} px, largest {placement['max_px']} px, "
            f"{placement['within_4px']:.1%} within 4 px; finding the part: {placement['ms_to_find']} ms a photo"
        )
        if "angle_error_mean_deg" in placement:
            print(
                f"angle found vs the turn from the reference photo's part ({placement['reference_angle_deg']} deg): "
                f"mean error {placement['angle_error_mean_deg']} deg, 95th percentile {placement['angle_error_p95_deg']} deg, "
                f"largest {placement['angle_error_max_deg']} deg"
            )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "placement": placement}, indent=2))


if __name__ == "__main__":
    main()
