"""Job functions run by the executors (worker processes or Ray actors): files in, files out.

They import no web or database code; everything they need arrives as plain parameters.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from aion.platform.compute.context import JobContext
from aion.platform.storage.factory import fetch_input, publish_outputs

STAGE_SPAN = {
    "load": (0.05, 0.15),
    "features": (0.15, 0.5),
    "coreset": (0.5, 0.65),
    "calibrate": (0.65, 0.7),  # the held-back good images scored; then any defect head
    "defect head": (0.7, 0.8),
    "check": (0.7, 0.8),  # the good images that built the bank, as new parts (no head: no head's span)
}


class Materialized(NamedTuple):
    """What :func:`_materialize` wrote: how many good and NG images, masks and masks drawn from
    boxes, and the data set path of each NG image by the file's ``ImageItem.key`` (``ng/<name>``)
    and of each good one by where it was written (``ok/<name>``: the engine's names for them)."""

    n_ok: int
    n_ng: int
    n_masks: int
    n_boxes: int
    ng_paths: dict[str, str]
    ok_paths: dict[str, str]


def box_mask(image: Path, box: list[float], out: Path) -> bool:
    """Write the mask of a defect ``box`` (``[x0, y0, x1, y1]``, shares of the width and height,
    as the labeling page records it) over ``image``: white inside, black outside, the image's
    size as shown (after its EXIF orientation). ``False`` (nothing written) when the image's size
    cannot be read: the engine reports the image itself.

    >>> import tempfile; from PIL import Image
    >>> d = Path(tempfile.mkdtemp()); Image.new("L", (10, 4)).save(d / "a.png")
    >>> box_mask(d / "a.png", [0.2, 0.25, 0.5, 0.75], d / "m.png")
    True
    >>> import numpy as np; np.argwhere(np.asarray(Image.open(d / "m.png")) > 0).tolist()
    [[1, 2], [1, 3], [1, 4], [2, 2], [2, 3], [2, 4]]
    """
    import numpy as np
    from PIL import Image

    from aion.platform.masks import shown_size

    # the box was drawn on the image as shown, turned by its EXIF orientation (phone photos), and
    # the engine turns it the same way when it reads it
    size = shown_size(image)
    if size is None:
        return False
    w, h = size
    x0, y0, x1, y1 = (float(v) for v in box)
    mask = np.zeros((h, w), dtype=np.uint8)
    c0, c1 = int(np.floor(x0 * w)), max(int(np.floor(x0 * w)) + 1, int(np.ceil(x1 * w)))
    r0, r1 = int(np.floor(y0 * h)), max(int(np.floor(y0 * h)) + 1, int(np.ceil(y1 * h)))
    mask[r0:r1, c0:c1] = 255
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(out)
    return True


def _materialize(items: list[dict[str, Any]], root: Path, store: str | None) -> Materialized:
    """Fetch each image into ``root/ok`` or ``root/ng`` (unlabelled images count as good), and an
    NG image's mask into ``root/ng_masks/<its stem>.png`` (the mask painted in the labeling page,
    else its mask file), or else the mask of the
    box drawn on it in the labeling page into ``root/ng_boxes/<its stem>.png`` (the engine then
    knows part of it is good surface: ``ImageItem.mask_is_box``)."""
    n_masks = n_boxes = 0
    ng_paths: dict[str, str] = {}
    ok_paths: dict[str, str] = {}
    for i, it in enumerate(items):
        sub = "ng" if it.get("label") == "ng" else "ok"
        name = f"{i:06d}{Path(it['path']).suffix.lower()}"
        fetch_input(store, it, root / sub / name)
        if sub == "ok":
            ok_paths[f"ok/{name}"] = str(it["path"])
            continue
        ng_paths[f"ng/{name}"] = str(it["path"])
        if it.get("mask"):
            fetch_input(store, it["mask"], root / "ng_masks" / f"{i:06d}.png")  # decoded by content
            n_masks += 1
        elif it.get("box") and box_mask(root / sub / name, it["box"], root / "ng_boxes" / f"{i:06d}.png"):
            n_boxes += 1
    return Materialized(len(ok_paths), len(ng_paths), n_masks, n_boxes, ng_paths, ok_paths)


def working_copy(path: str, written: Materialized) -> str:
    """The working copy of the data set image at ``path`` (unique in a version): where
    :func:`_materialize` wrote it, relative to the data set root (``ok/000003.png``), which is
    that image's ``ImageItem.member`` in ``load_dataset`` and so names it exactly for the engine
    (``TrainConfig.align_reference``). Raises ``KeyError`` for a path not written.

    >>> m = Materialized(1, 1, 0, 0, {"ng/000001.png": "b/x.png"}, {"ok/000000.png": "a/x.png"})
    >>> working_copy("a/x.png", m), working_copy("b/x.png", m)
    ('ok/000000.png', 'ng/000001.png')
    """
    for copy, original in (*written.ok_paths.items(), *written.ng_paths.items()):
        if original == path:
            return copy
    raise KeyError(path)


def train_inspection(
    ctx: JobContext,
    items: list[dict[str, Any]],
    out: str,
    config: dict[str, Any],
    evaluate: bool = True,
    meta: dict[str, Any] | None = None,
    store: str | None = None,
    out_ref: str | None = None,
) -> dict[str, float]:
    """Train a visual inspection model on a data set version's images and write it to ``out``.

    ``items``: ``{"path", "sha256", "label"}`` per image, fetched from the blob store at URL
    ``store`` (local folder or S3). Writes ``out`` (the model) and ``out + ".report.json"``
    (training and evaluation reports), and puts both in the store as ``out_ref/<name>``.
    """
    from aion.solutions.inspection import TrainConfig, load_dataset, train
    from aion.solutions.inspection import evaluate as evaluate_model
    from aion.solutions.inspection.area import InspectionArea
    from aion.solutions.inspection.data import marked_defects
    from aion.solutions.inspection.errors import InspectionError

    # ``align_reference`` arrives as the reference photo's data set path (areaform.py, kinds.py) and names its
    # working copy once the images are written
    reference = config.get("align_reference")
    cfg = TrainConfig(
        **{**config, "area": InspectionArea.from_dict(config.get("area")), "align_reference": None}
    )
    work = Path(tempfile.mkdtemp(prefix="aion-train-"))
    try:
        written = _materialize(items, work, store)
        n_ok, n_ng, n_masks, n_boxes, ng_paths, ok_paths = written
        if reference:
            try:
                cfg.align_reference = working_copy(str(reference), written)
            except KeyError:
                raise InspectionError(
                    f"기준 사진이 데이터에 없음: {reference} / The reference photo is not in the data: {reference}"
                ) from None
            ctx.log(f"reference photo of the area that follows the part: {reference} ({cfg.align_reference})")
        ctx.log(
            f"images: {n_ok} good/unlabelled, {n_ng} NG ({n_masks} with masks, {n_boxes} with boxes); "
            f"config {json.dumps(cfg.to_dict())}"
        )
        ctx.progress(0.05, "load")

        def progress(stage: str, fraction: float) -> None:
            lo, hi = STAGE_SPAN.get(stage, (0.8, 0.8))
            ctx.progress(lo + (hi - lo) * fraction, stage)
            if ctx.stopping:
                raise InterruptedError("cancelled")

        ds = load_dataset(work)
        # marked NG images (a painted mask, a mask file or a box drawn in the labeling page) make
        # the NG images labelled defects: the marked ones train a defect head (and are left out of
        # the evaluation below); without marks the NG images set the threshold only
        model = train(ds, cfg, progress=progress, defects=marked_defects(ds))
        rep = model.train_report_
        ctx.log(f"trained: bank {rep.bank_size}/{rep.n_patches} patches, threshold {rep.threshold:.4f}")
        for warning in rep.warnings:  # photos named by their data set paths, not the working copies'
            for copy, original in (*ok_paths.items(), *ng_paths.items()):
                warning = warning.replace(copy, original)
            ctx.log(f"warning: {warning}")
        # the good images to check (the evaluation report shows them with their heat maps), named
        # by their data set paths, not the working copies' names
        to_check = [{**u.to_dict(), "name": ok_paths.get(u.name, u.name)} for u in rep.unusual_good]
        if to_check:
            names = ", ".join(u["name"] for u in to_check[:5])
            ctx.log(
                f"good images to check: {len(to_check)} ({rep.n_unusual_rejected} above the threshold): {names}"
            )
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        metrics: dict[str, float] = {
            "threshold": float(rep.threshold),
            "calibration_frr": float(rep.calibration_frr),
            "train_images": float(rep.n_fit_images),
            "defect_images": float(rep.n_defect_images),
            "train_seconds": float(rep.seconds.get("total", 0.0)),
            "head_images": float(rep.n_head_images),
            "good_images_rejected": float(rep.n_unusual_rejected),
            # the head's gain, out of fold on its own masked images (they are left out below)
            **{f"head_{k}": float(v) for k, v in rep.head_gain.items()},
        }
        # the data set paths of the images the head learned from: the report page leaves them out,
        # as ``evaluate`` does
        head_items = [ng_paths[k] for k in model.meta.head_images if k in ng_paths]
        report: dict[str, Any] = {
            "train": {**rep.to_dict(), "head_items": head_items, "unusual_good": to_check}
        }
        if evaluate and n_ng > 0:
            ctx.progress(0.85, "evaluate")
            ev = evaluate_model(model, ds)
            summary = ev.summary()
            report["evaluation"] = {k: v for k, v in ev.to_dict().items() if k != "images"}
            for key in (
                "image_auroc",
                "f1",
                "false_reject_rate",
                "escape_rate",
                "ms_per_image",
                "pixel_auroc",
            ):
                value = summary.get(key, getattr(ev, key, None))
                if isinstance(value, int | float):
                    metrics[key] = float(value)
            ctx.log(
                "evaluated on the labelled images (good ones the model trained on at their held-back "
                f"scores, or left out): {json.dumps(summary)}"
            )
        Path(out + ".report.json").write_text(json.dumps(report, default=str), encoding="utf-8")
        publish_outputs(store, out_ref, out, out + ".report.json")
        for k, v in metrics.items():
            ctx.metric(k, v)
        ctx.progress(1.0, "done")
        return metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)
