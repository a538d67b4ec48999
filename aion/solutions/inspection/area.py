"""The inspection area: which part of each photo the model looks at.

A camera beside the line sees more than the part: the fixture, the conveyor, a hand, and on the
part itself things that differ from part to part by design (a printed date or serial number, a
label, a bar code). PatchCore learns every patch of the good photos, so whatever varies there
scores as a defect on every part. Two settings say what to look at:

* ``crop``: a box of the photo; only it is resized to the model's resolution and inspected (more
  of the model's pixels on the part, none on the background);
* ``ignore``: boxes inside it whose anomaly is ignored (the map is 0 there, so they never make a
  part NG nor show on its heat map).

Boxes are fractions of the photo's width and height (``left, top, right, bottom``, 0-1), so one
model serves photos of any size. They travel in the model file (``ModelMeta.area``) and apply
wherever it scores: training, calibration, evaluation, the exported model, the line station.
Ignored patches still enter the memory bank; their scores never count.

With ``align`` the crop follows the part: it was drawn on a reference photo, and in each photo it
moves to where the part lies there, the ignore boxes with it (``align.py``). With ``turn`` as well
(degrees) the part may also turn up to that much either way; the area placed in a photo then
carries the part's ``angle`` there, and its crop is cut out turned by it, upright (``turn.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aion.solutions.inspection import turn as turning
from aion.solutions.inspection.errors import InspectionError

#: The smallest crop accepted, in pixels of the photo along either side.
MIN_CROP_PIXELS = 8
#: The largest turn that may be searched either way (degrees): past it, a crop is better drawn
#: square to the part's own fixture, or the camera turned.
MAX_TURN = 45.0


class AreaError(InspectionError):
    """A crop or ignore box that is not a box of the photo."""


def check_turn(turn: float) -> None:
    """:class:`AreaError` unless ``turn`` (degrees either way) lies in 0 to :data:`MAX_TURN`."""
    if not (math.isfinite(turn) and 0.0 <= turn <= MAX_TURN):
        raise AreaError(
            f"부품이 돌아가는 각도는 0-{MAX_TURN:g}도: {turn:g} / The part's turn must lie in "
            f"0-{MAX_TURN:g} degrees: {turn:g}"
        )


@dataclass(frozen=True)
class Box:
    """A box as fractions of the photo's width and height (0-1), right and bottom exclusive."""

    left: float
    top: float
    right: float
    bottom: float

    def __post_init__(self) -> None:
        values = (self.left, self.top, self.right, self.bottom)
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values):
            raise AreaError(
                f"상자 좌표는 0과 1 사이여야 함: {self.text()} / Box coordinates must lie in 0-1: {self.text()}"
            )
        if self.right <= self.left or self.bottom <= self.top:
            raise AreaError(
                f"상자의 오른쪽·아래가 왼쪽·위보다 커야 함: {self.text()} / "
                f"A box needs right > left and bottom > top: {self.text()}"
            )

    def text(self) -> str:
        return ",".join(f"{v:g}" for v in (self.left, self.top, self.right, self.bottom))

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` in pixels of a ``width`` x ``height`` photo: every pixel the box
        touches, at least one.

        >>> Box(0.1, 0.0, 0.55, 1.0).pixels(100, 40)
        (10, 0, 55, 40)
        """
        x0, y0 = min(int(self.left * width), width - 1), min(int(self.top * height), height - 1)
        x1 = max(x0 + 1, min(width, math.ceil(self.right * width - 1e-9)))
        y1 = max(y0 + 1, min(height, math.ceil(self.bottom * height - 1e-9)))
        return x0, y0, x1, y1

    def within(self, outer: Box) -> Box | None:
        """This box in the coordinates of ``outer`` (fractions of it), clipped; ``None`` when they
        do not overlap.

        >>> Box(0.5, 0.5, 1.0, 1.0).within(Box(0.0, 0.0, 0.75, 0.75))
        Box(left=0.6666666666666666, top=0.6666666666666666, right=1.0, bottom=1.0)
        >>> Box(0.0, 0.0, 0.2, 0.2).within(Box(0.5, 0.5, 1.0, 1.0)) is None
        True
        """
        w, h = outer.right - outer.left, outer.bottom - outer.top
        x0, x1 = max(0.0, (self.left - outer.left) / w), min(1.0, (self.right - outer.left) / w)
        y0, y1 = max(0.0, (self.top - outer.top) / h), min(1.0, (self.bottom - outer.top) / h)
        return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def to_list(self) -> list[float]:
        return [self.left, self.top, self.right, self.bottom]

    @staticmethod
    def in_pixels(text: str) -> bool:
        """True when :meth:`parse` needs the photo's size: whole pixels, not fractions or percentages.

        >>> Box.in_pixels("64,0,576,480"), Box.in_pixels("0.1,0,0.9,1"), Box.in_pixels("10%,0%,90%,100%")
        (True, False, False)
        """
        try:
            return any(not p.strip().endswith("%") and float(p) > 1.0 for p in text.split(","))
        except ValueError:
            return False

    @classmethod
    def parse(cls, text: str, size: tuple[int, int] | None = None) -> Box:
        """``left,top,right,bottom`` as fractions (``0.1,0,0.9,1``), percentages (``10%,0%,90%,100%``)
        or whole pixels of a photo of ``size`` (w, h) (``64,0,576,480``).

        >>> Box.parse("10%,0%,90%,100%"), Box.parse("64,0,576,480", (640, 480)).text()
        (Box(left=0.1, top=0.0, right=0.9, bottom=1.0), '0.1,0,0.9,1')
        >>> Box.parse("0.1,0.2,0.3")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aion.solutions.inspection.area.AreaError: ... A box is four numbers left,top,right,bottom ...: 0.1,0.2,0.3
        """
        parts = [p.strip() for p in text.split(",")]
        try:
            if len(parts) != 4:
                raise ValueError(text)
            percent = [p.endswith("%") for p in parts]
            values = [float(p.rstrip("%")) for p in parts]
        except ValueError as e:
            raise AreaError(
                f"상자는 왼쪽,위,오른쪽,아래 네 숫자(비율 0-1, 백분율 또는 픽셀): {text} / A box is four numbers "
                f"left,top,right,bottom (fractions 0-1, percentages or pixels): {text}"
            ) from e
        if all(percent):
            return cls(*(v / 100.0 for v in values))
        if any(percent):
            raise AreaError(f"백분율과 다른 단위를 섞음: {text} / Percentages mixed with other units: {text}")
        if all(v <= 1.0 for v in values):
            return cls(*values)
        if size is None:
            raise AreaError(
                f"픽셀 좌표에는 사진 크기가 필요함: {text} / Pixel coordinates need the photo's size: {text}"
            )
        w, h = size
        if not all(v == int(v) for v in values) or values[2] > w or values[3] > h:
            raise AreaError(
                f"픽셀 상자가 {w}x{h} 사진 밖임: {text} / The pixel box lies outside the {w}x{h} photo: {text}"
            )
        return cls(values[0] / w, values[1] / h, values[2] / w, values[3] / h)


@dataclass(frozen=True)
class InspectionArea:
    """The part of each photo a model inspects: ``crop`` (``None``: the whole photo) less the
    ``ignore`` boxes (fractions of the whole photo). ``align``: the crop follows the part;
    ``turn``: how far (degrees, either way) the part may also turn. ``angle``: an area placed in
    one photo only: how far the part turned there (the crop and boxes turn with it about the
    crop's centre)."""

    crop: Box | None = None
    ignore: tuple[Box, ...] = ()
    align: bool = False
    turn: float = 0.0
    angle: float = 0.0

    def __post_init__(self) -> None:
        if self.align and self.crop is None:
            raise AreaError(
                "부품을 따라가려면 검사 영역(부품을 둘러싼 상자)이 필요함 / Following the part needs an "
                "inspected area (a box around the part)"
            )
        if self.turn and not self.align:
            raise AreaError(
                "부품이 돌아가는 각도는 부품 위치를 따라갈 때만 쓰임 / A turn is only searched when the "
                f"area follows the part: turn {self.turn:g}"
            )
        check_turn(self.turn)
        whole = self.crop or Box(0.0, 0.0, 1.0, 1.0)
        if any(b.within(whole) is None for b in self.ignore):
            raise AreaError(
                "무시 영역이 검사 영역 밖에 있음 / An ignore box lies outside the inspected area: "
                + "; ".join(b.text() for b in self.ignore if b.within(whole) is None)
            )

    def __bool__(self) -> bool:
        return self.crop is not None or bool(self.ignore)

    def shifted(self, dx: float, dy: float) -> InspectionArea:
        """The same area moved by ``dx``, ``dy`` (fractions of the photo), as in a photo where the
        part lies there; boxes are clipped to the photo (one that leaves it is dropped).

        >>> InspectionArea(Box(0.1, 0.1, 0.5, 0.5), (Box(0.1, 0.1, 0.2, 0.2),)).shifted(0.25, -0.05).crop.text()
        '0.35,0.05,0.75,0.45'
        """

        def move(b: Box) -> Box | None:
            x0, x1 = max(0.0, b.left + dx), min(1.0, b.right + dx)
            y0, y1 = max(0.0, b.top + dy), min(1.0, b.bottom + dy)
            return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

        crop = move(self.crop) if self.crop is not None else None
        ignore = tuple(m for m in (move(b) for b in self.ignore) if m is not None)
        if crop is None:  # moved out of the photo entirely: nothing sensible to inspect
            return InspectionArea(self.crop, self.ignore)
        return InspectionArea(crop, tuple(b for b in ignore if b.within(crop) is not None))

    def turned(self, angle: float) -> InspectionArea:
        """This area placed where the part turned by ``angle`` degrees (counter-clockwise) about the
        crop's centre.

        >>> a = InspectionArea(Box(0.25, 0.25, 0.75, 0.75)).turned(90.0)
        >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:4] = 9   # the crop's left half lit
        >>> a.crop_image(image)[:2].tolist()   # turned a quarter turn: the crop's top half lit
        [[9, 9, 9, 9], [9, 9, 9, 9]]
        """
        if self.crop is None:
            return self
        return InspectionArea(self.crop, self.ignore, angle=float(angle))

    def crop_image(self, image: np.ndarray) -> np.ndarray:
        """The inspected part of an ``(H, W, ...)`` photo (a view; the photo itself without a crop;
        a turned crop cut out upright, a new array).

        >>> InspectionArea(Box(0.5, 0.0, 1.0, 0.5)).crop_image(np.zeros((10, 20, 3))).shape
        (5, 10, 3)
        """
        if self.crop is None:
            return image
        x0, y0, x1, y1 = self.crop_pixels(image.shape[1], image.shape[0])
        if self.angle:
            return turning.cut(image, (x0, y0, x1, y1), self.angle)
        return image[y0:y1, x0:x1]

    def crop_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The crop in pixels of a ``width`` x ``height`` photo (the whole photo without one; at
        least a pixel, whatever the photo: :meth:`check_size` refuses a crop too small to inspect)."""
        return (0, 0, width, height) if self.crop is None else self.crop.pixels(width, height)

    def check_size(self, width: int, height: int) -> None:
        """:class:`AreaError` when the crop is under :data:`MIN_CROP_PIXELS` a side in a ``width`` x
        ``height`` photo (checked against the training photos, not at every photo scored).

        >>> InspectionArea(Box(0.0, 0.0, 0.05, 1.0)).check_size(100, 100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aion.solutions.inspection.area.AreaError: ... The inspected area is too small in a 100x100 photo: 0,0,0.05,1 ...
        """
        x0, y0, x1, y1 = self.crop_pixels(width, height)
        if min(x1 - x0, y1 - y0) < MIN_CROP_PIXELS:
            crop = self.crop.text() if self.crop else ""
            raise AreaError(
                f"검사 영역이 {width}x{height} 사진에서 너무 작음: {crop} / The inspected area "
                f"is too small in a {width}x{height} photo: {crop} (at least {MIN_CROP_PIXELS} pixels a side)"
            )

    def check_something_left(self) -> None:
        """Refuse ignore boxes that cover the whole inspected area (as drawn: a part that moves may
        later leave one partly off the photo, which is checked no more).

        >>> halves = (Box(0.5, 0.0, 0.8, 1.0), Box(0.7, 0.0, 1.0, 1.0))
        >>> InspectionArea(Box(0.5, 0.0, 1.0, 1.0), halves).check_something_left()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aion.solutions.inspection.area.AreaError: ... The ignore boxes cover the whole inspected area: nothing ...
        """
        ignored = self.ignored(64)
        if ignored is not None and ignored.all():
            raise AreaError(
                "무시 영역이 검사 영역 전체를 덮어 검사할 곳이 없음 / The ignore boxes cover the whole inspected "
                f"area: nothing is left to inspect: {'; '.join(b.text() for b in self.ignore)}"
            )

    def ignored(self, size: int) -> np.ndarray | None:
        """``(size, size)`` bool: the pixels of the model's map that the ignore boxes cover (the
        map covers the crop); ``None`` without ignore boxes.

        >>> InspectionArea(Box(0.0, 0.0, 0.5, 1.0), (Box(0.25, 0.0, 0.5, 0.5),)).ignored(4).astype(int).tolist()
        [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
        """
        if not self.ignore:
            return None
        whole = self.crop or Box(0.0, 0.0, 1.0, 1.0)
        out = np.zeros((size, size), dtype=bool)
        for b in self.ignore:
            inner = b.within(whole)
            if inner is not None:
                x0, y0, x1, y1 = inner.pixels(size, size)
                out[y0:y1, x0:x1] = True
        return out

    def ignored_patches(self, grid: int, size: int) -> np.ndarray:
        """``(grid, grid)`` bool: the patches of a ``grid`` over the map of ``size`` pixels whose
        scores never count: those centred in an ignore box, and their neighbours (a patch's features
        span its neighbours, so a patch next to a lot number sees its digits).

        >>> InspectionArea(None, (Box(0.25, 0.25, 0.5, 0.5),)).ignored_patches(4, 8).astype(int).tolist()
        [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]
        """
        pixels = self.ignored(size)
        if pixels is None:
            return np.zeros((grid, grid), dtype=bool)
        centre = ((np.arange(grid) + 0.5) * size / grid).astype(np.int64)
        inside = pixels[np.ix_(centre, centre)]
        rows = inside.copy()
        rows[1:] |= inside[:-1]
        rows[:-1] |= inside[1:]
        out = rows.copy()
        out[:, 1:] |= rows[:, :-1]
        out[:, :-1] |= rows[:, 1:]
        return out

    def to_dict(self) -> dict[str, Any]:
        """As stored in the model file (``{}`` for the whole photo)."""
        if not self:
            return {}
        d: dict[str, Any] = {
            "crop": self.crop.to_list() if self.crop else None,
            "ignore": [b.to_list() for b in self.ignore],
        }
        if self.align:
            d["align"] = True
        if self.turn:
            d["turn"] = self.turn
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> InspectionArea:
        """
        >>> a = InspectionArea(Box(0.1, 0.1, 0.9, 0.9), (Box(0.2, 0.2, 0.3, 0.3),))
        >>> InspectionArea.from_dict(a.to_dict()) == a, InspectionArea.from_dict({}) == InspectionArea()
        (True, True)
        >>> InspectionArea.from_dict({"crop": [0.1, 0.1, 0.9, 0.9], "align": True, "turn": 15}).turn
        15.0
        """
        d = d or {}
        crop = d.get("crop")
        return cls(
            Box(*crop) if crop else None,
            tuple(Box(*b) for b in d.get("ignore") or []),
            bool(d.get("align", False)),
            float(d.get("turn") or 0.0),
        )

    @classmethod
    def parse(
        cls,
        crop: str | None,
        ignore: Sequence[str] = (),
        size: tuple[int, int] | None = None,
        align: bool = False,
        turn: float = 0.0,
    ) -> InspectionArea:
        """From the command's ``--crop``, ``--ignore``, ``--align`` and ``--turn`` (:meth:`Box.parse`),
        checked to leave something to inspect (:meth:`check_something_left`)."""
        area = cls(
            Box.parse(crop, size) if crop else None, tuple(Box.parse(t, size) for t in ignore), align, turn
        )
        area.check_something_left()
        return area
