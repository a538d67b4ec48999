"""The training form's inspection area, for the web app and the API: a crop and ignore boxes typed
or drawn on a photo of the version, whether the area follows the part and on which photo its boxes
were drawn (``aion/solutions/inspection/area.py``, ``align.py``), the form filled in from the
newest model of the data set, and a model's area in words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.platform.errors import PlatformError
from aion.platform.models import Dataset, DatasetVersion, ModelVersion, RegisteredModel
from aion.solutions.inspection.area import MAX_TURN, AreaError, Box, InspectionArea, check_turn


def bad_area(field: str, value: str) -> PlatformError:
    return PlatformError(
        "Bad inspection area ({field}): {value}. A box is four numbers left,top,right,bottom as "
        "fractions of the photo (0-1) or percentages, with right > left and bottom > top; ignore "
        "boxes lie inside the inspected area and leave some of it to inspect.",
        field=field,
        value=value,
    )


def _flag(options: dict[str, Any], key: str) -> bool:
    """A form checkbox (``"on"`` when ticked, absent when not) or the API's boolean.

    >>> [_flag({"align": v}, "align") for v in ("on", "1", "true", True, "", "off", False, None)]
    [True, True, True, True, False, False, False, False]
    """
    raw = options.get(key)
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("", "0", "false", "off", "no"):
        return False
    raise PlatformError("Bad value for {field}.", field=key)


def align_needs_crop(value: str) -> PlatformError:
    return PlatformError(
        "Moving the area with the part ({field}: {value}) needs an inspected area: draw a box round "
        "the part on the photo.",
        field="align",
        value=value,
    )


def area_turn(options: dict[str, Any], align: bool) -> float:
    """The form's ``turn``: how far (degrees, either way) the part may also turn; empty is 0.

    >>> area_turn({"turn": "15"}, True), area_turn({"turn": ""}, False), area_turn({}, False)
    (15.0, 0.0, 0.0)
    >>> area_turn({"turn": "10"}, False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    aion.platform.errors.PlatformError: The part's turn (turn: 10) is only searched when the area moves with the part...
    """
    raw = options.get("turn")
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return 0.0
    try:
        turn = float(text)
        check_turn(turn)
    except (AreaError, ValueError) as e:
        raise PlatformError(
            "Bad turn ({field}): {value}. Give the degrees the part may turn either way, 0 to {most}.",
            field="turn",
            value=text,
            most=f"{MAX_TURN:g}",
        ) from e
    if turn and not align:
        raise PlatformError(
            "The part's turn ({field}: {value}) is only searched when the area moves with the part: "
            "tick the box.",
            field="turn",
            value=text,
        )
    return turn


def area_options(options: dict[str, Any]) -> InspectionArea:
    """The inspection area (``aion/solutions/inspection/area.py``) from the form's ``crop`` (one
    box) and ``ignore`` (boxes separated by ``;`` or new lines), as fractions of the photo or
    percentages, ``align`` (the area follows the part: a ticked checkbox, or the API's
    ``true``) and ``turn`` (degrees the part may also turn); the API may also give ``area`` as the
    model file stores it.

    >>> area_options({"crop": "0.1,0,0.9,1", "ignore": "60%,5%,95%,30%; 0.2,0.8,0.3,0.9"}).to_dict()["ignore"]
    [[0.6, 0.05, 0.95, 0.3], [0.2, 0.8, 0.3, 0.9]]
    >>> bool(area_options({"crop": " ", "ignore": ""}))
    False
    >>> area_options({"crop": "0.1,0,0.9,1", "align": "on"}).align
    True
    >>> area_options({"crop": "0.1,0,0.9,1", "align": "on", "turn": "12.5"}).turn
    12.5
    >>> area_options({"area": {"crop": [0.1, 0, 0.9, 1]}, "align": True}).to_dict()
    {'crop': [0.1, 0, 0.9, 1], 'ignore': [], 'align': True}
    >>> area_options({"align": "on"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    aion.platform.errors.PlatformError: Moving the area with the part (align: on) needs an inspected area...
    """
    align = _flag(options, "align")
    if isinstance(options.get("area"), dict):
        stored = {**options["area"], **({"align": True} if align else {})}
        if options.get("turn") not in (None, ""):
            stored["turn"] = area_turn(options, bool(stored.get("align")))
        if stored.get("align") and not stored.get("crop"):
            raise align_needs_crop(json.dumps(options["area"]) if not align else str(options["align"]))
        try:
            return InspectionArea.from_dict(stored)
        except (AreaError, TypeError, ValueError) as e:
            raise bad_area("area", json.dumps(options["area"])) from e
    crop = str(options.get("crop") or "").strip() or None
    text = str(options.get("ignore") or "").replace("\n", ";")
    ignore = [t.strip() for t in text.split(";") if t.strip()]
    try:
        box = Box.parse(crop) if crop else None  # fractions or percentages: no photo size here
    except AreaError as e:
        raise bad_area("crop", crop or "") from e
    if align and box is None:
        raise align_needs_crop(str(options["align"]))
    turn = area_turn(options, align)
    try:
        area = InspectionArea(box, tuple(Box.parse(t) for t in ignore), align, turn)
        area.check_something_left()
    except AreaError as e:
        raise bad_area("ignore", "; ".join(ignore)) from e
    return area


def align_reference(options: dict[str, Any], items: list[Any], area: InspectionArea) -> Any | None:
    """The image of the version the area's boxes were drawn on (``area_reference``: its item id;
    the form sends the photo it shows): the reference photo in which an area that follows the
    part frames the part. ``None`` unless the area follows the part, and when no reference is
    given (the API): the engine then takes the first training image
    (``TrainConfig.align_reference``). ``items`` are the version's images, so an id of another
    version or company is refused, never read."""
    raw = options.get("area_reference")
    if not area.align or raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    chosen = None
    if not isinstance(raw, bool) and text.isdigit():
        chosen = next((it for it in items if it.id == int(text) and it.media_type.startswith("image/")), None)
    if chosen is None:
        raise PlatformError(
            "The reference photo {value} is not an image of this data set version.", value=text
        )
    return chosen


def param_text(name: str, value: Any, _: Callable[..., str]) -> str:
    """A model version's training parameter as a reader reads it (``_``: the page's gettext): an
    inspection area in words, other lists and dicts as JSON, the rest as they are.

    >>> tr = lambda msgid, **kw: msgid.format(**kw)
    >>> param_text("area", {"crop": [0.1, 0, 0.9, 1], "ignore": [[0.2, 0.2, 0.3, 0.3]], "align": True}, tr)
    'crop 0.1,0,0.9,1 · ignore 0.2,0.2,0.3,0.3 · follows the part'
    >>> param_text("blocks", [4, 10], tr), param_text("area", {}, tr)
    ('[4, 10]', 'whole photo')
    """
    if name == "area" and isinstance(value, dict):
        try:
            area = InspectionArea.from_dict(value)
        except (AreaError, TypeError, ValueError):
            return json.dumps(value, ensure_ascii=False)
        parts = [_("crop {box}", box=area.crop.text())] if area.crop else []
        if area.ignore:
            parts.append(_("ignore {boxes}", boxes="; ".join(b.text() for b in area.ignore)))
        if area.align:
            parts.append(_("follows the part"))
        if area.turn:
            parts.append(_("turns up to {degrees} degrees", degrees=f"{area.turn:g}"))
        return " · ".join(parts) or _("whole photo")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass(frozen=True)
class AreaForm:
    """The training form's inspection area fields, filled in from the newest inspection model
    trained on the data set (``source``: "name vN"), else empty."""

    crop: str = ""
    ignore: str = ""
    source: str = ""
    align: bool = False  # the area follows the part
    reference: str = ""  # then the data set path of the photo its boxes were drawn on, if recorded
    turn: str = ""  # and how far (degrees) the part may turn, when it may


def previous_area(session: Session, dataset: Dataset) -> AreaForm:
    """The inspection area of the newest model version trained on a version of ``dataset``."""
    stmt = (
        select(ModelVersion, RegisteredModel.name)
        .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
        .join(DatasetVersion, DatasetVersion.id == ModelVersion.dataset_version_id)
        .where(
            DatasetVersion.dataset_id == dataset.id,
            ModelVersion.company_id == dataset.company_id,
            RegisteredModel.kind == "inspection",
        )
        .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    if row is None or not (row[0].params or {}).get("area"):
        return AreaForm()
    try:
        area = InspectionArea.from_dict(row[0].params["area"])
    except (AreaError, TypeError, ValueError):
        return AreaForm()
    return AreaForm(
        area.crop.text() if area.crop else "",
        "; ".join(b.text() for b in area.ignore),
        f"{row[1]} v{row[0].number}",
        area.align,
        str(row[0].params.get("align_reference") or "") if area.align else "",
        f"{area.turn:g}" if area.turn else "",
    )
