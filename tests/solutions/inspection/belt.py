"""A part that lands somewhere else on the belt in every photo, made by the tests: a woven plate
with a dark rim, two holes and a lot label (``test_align.py``, and the web app's preview of an area
that follows the part); and turned a little as well (``test_turn.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from aion.solutions.inspection.area import Box

from .conftest import add_defect, save, texture

PHOTO, PLATE = 160, 96
LOTS = {"train": ("L0312", "L0313", "L0321"), "new": ("L0487", "L0596", "L0965")}
#: The reference photo's plate lies at (32, 24): the crop around it and the label's ignore box.
REF_AT = (32, 24)
CROP = Box.parse(
    f"{REF_AT[0] - 4},{REF_AT[1] - 4},{REF_AT[0] + PLATE + 4},{REF_AT[1] + PLATE + 4}", (PHOTO, PHOTO)
)
LABEL = Box.parse(f"{REF_AT[0] + 52},{REF_AT[1] + 2},{REF_AT[0] + 94},{REF_AT[1] + 26}", (PHOTO, PHOTO))


def plate(rng: np.random.Generator, lot: str, defect: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The part: a woven plate with a dark rim, two holes and a white label with its lot number;
    and its defect's mask."""
    img, mask = texture(rng, PLATE), np.zeros((PLATE, PLATE), bool)
    if defect:
        img, mask = add_defect(img, rng, defect)
        mask[:28, 50:] = False  # none under the label
    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, PLATE - 1, PLATE - 1], outline=20, width=4)
    for cx in (16, 80):
        draw.ellipse([cx - 6, 74, cx + 6, 86], fill=10)
    draw.rectangle([54, 4, 92, 24], fill=235)
    draw.text((56, 8), lot, fill=10)
    return np.asarray(im), mask


def on_belt(part: np.ndarray, at: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    photo = np.full((PHOTO, PHOTO), 60, np.uint8) + rng.integers(0, 8, (PHOTO, PHOTO), dtype=np.uint8)
    photo[at[1] : at[1] + PLATE, at[0] : at[0] + PLATE] = part
    return photo


def anywhere(rng: np.random.Generator, margin: int = 4) -> tuple[int, int]:
    return int(rng.integers(margin, PHOTO - PLATE - margin)), int(
        rng.integers(margin, PHOTO - PLATE - margin)
    )


def turned(photo: np.ndarray, at: tuple[int, int], angle: float, nearest: bool = False) -> np.ndarray:
    """``photo`` turned by ``angle`` degrees (counter-clockwise) about the centre of the plate at ``at``."""
    if not angle:
        return photo
    how = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    centre = (at[0] + PLATE / 2, at[1] + PLATE / 2)
    return np.asarray(
        Image.fromarray(photo).rotate(angle, how, center=centre, fillcolor=0 if nearest else 62)
    )


def make_belt(
    root: Path, seed: int = 0, n_train: int = 30, n_good: int = 8, n_defect: int = 8, turn: float = 0.0
) -> Path:
    """Good plates of three lots to train on, the first at :data:`REF_AT`; new plates (good and
    defective, of other lots) anywhere on the belt; ``positions.json`` says where each lies. With
    ``turn``, every plate but the first is also turned up to that many degrees either way about its
    centre (``angles.json``)."""
    rng = np.random.default_rng(seed)
    where: dict[str, list[int]] = {}
    angles: dict[str, float] = {}
    margin = 14 if turn else 4  # a turned plate's corners stay in the photo

    def put(rel: str, image: np.ndarray, at: tuple[int, int], first: bool = False) -> float:
        angles[rel] = 0.0 if first or not turn else round(float(rng.uniform(-turn, turn)), 2)
        save(turned(image, at, angles[rel]), root / rel)
        where[rel] = list(at)
        return angles[rel]

    for i in range(n_train):
        at = REF_AT if i == 0 else anywhere(rng, margin)
        part, _ = plate(rng, LOTS["train"][i % 3])
        put(f"train/good/{i:03d}.png", on_belt(part, at, rng), at, first=i == 0)
    for i in range(n_good):
        at = anywhere(rng, margin)
        put(f"test/good/{i:03d}.png", on_belt(plate(rng, LOTS["new"][i % 3])[0], at, rng), at)
    for i in range(n_defect):
        kind, at = ("scratch", "spot")[i % 2], anywhere(rng, margin)
        part, mask = plate(rng, LOTS["new"][i % 3], kind)
        angle = put(f"test/{kind}/{i:03d}.png", on_belt(part, at, rng), at)
        full = np.zeros((PHOTO, PHOTO), np.uint8)
        full[at[1] : at[1] + PLATE, at[0] : at[0] + PLATE] = mask * 255
        save(turned(full, at, angle, nearest=True), root / "ground_truth" / kind / f"{i:03d}_mask.png")
    (root / "positions.json").write_text(json.dumps(where))
    if turn:
        (root / "angles.json").write_text(json.dumps(angles))
    return root
