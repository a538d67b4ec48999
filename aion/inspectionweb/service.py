"""Use cases of the inspection pages: evaluate a registered model on its data set version, draw heat
maps, set the threshold (a new audited model version whose file carries it) and score one photo.

The engine (:mod:`aion.solutions.inspection`) does the scoring; this module only finds the files.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core import audit
from aion.core.tenancy import NotFound
from aion.inspectionweb.errors import InspectionWebError
from aion.platform import datasets as ds_service
from aion.platform import modelregistry as reg
from aion.platform.models import DatasetItem, DatasetVersion, ModelVersion, RegisteredModel
from aion.platform.storage.blobstore import BlobStore
from aion.solutions.inspection import BadImageError, InspectionModel, ModelFileError, Prediction
from aion.solutions.inspection.data import fingerprint_of_sha256
from aion.solutions.inspection.evaluation import TrainedGood
from aion.solutions.inspection.goodcheck import UnusualGood, sets_threshold
from aion.solutions.inspection.images import decode_image, read_image
from aion.solutions.inspection.meta import ModelMeta
from aion.solutions.inspection.metrics import auroc, confusion

MAX_PHOTO_BYTES = 20 * 1024 * 1024
BATCH = 8  # images scored together (the engine's batch size)
_MODELS: OrderedDict[str, InspectionModel] = OrderedDict()
_LOCK = threading.Lock()


@dataclass
class Scored:
    item_id: int
    path: str
    label: int  # 1 = NG (labelled defect), 0 = good or unlabelled
    raw: float


@dataclass
class Evaluation:
    """Raw scores of the images of the model's data set version, less the ``n_left_out`` its
    defect head learned from.

    Good images the model trained on (known by content: ``meta.train_fingerprints``) are in its
    memory bank: the ``n_held_back`` held back in training count at the scores training measured
    against a bank without them (as new parts), the ``n_in_bank`` others are left out, as
    ``evaluate`` does. ``held`` is false for models that do not record them (every image is then
    scored by the model that trained on it: in-sample)."""

    threshold: float
    score_low: float
    images: list[Scored]
    skipped: list[str] = field(default_factory=list)
    n_left_out: int = 0
    held: bool = False
    n_held_back: int = 0
    n_in_bank: int = 0
    # good images of the version that training listed to check (``goodcheck.py``), at their
    # scores as new parts, highest first; not among ``images`` unless held back
    to_check: list[Scored] = field(default_factory=list)
    threshold_setter: int | None = None  # the item among them whose score set the threshold

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([s.label for s in self.images]), np.array([s.raw for s in self.images])


@dataclass(frozen=True)
class ThresholdBasis:
    """How a model's threshold was set (``method``: ``"frr"``, ``"f1"`` or ``"manual"``), on how
    many calibration images, and the thresholds training found for each method (the report offers
    them as presets: the user's target false-reject rate is never lost to the F1 choice)."""

    method: str
    target_frr: float
    n_good: int
    n_defect: int
    presets: dict[str, float]
    # bilingual: a threshold that cannot keep its target (too few good images; ``calibration_warning``)
    warning: str | None = None


def threshold_basis(meta: ModelMeta) -> ThresholdBasis:
    """The :class:`ThresholdBasis` of a model file's ``meta``."""
    cal = meta.calibration or {}
    presets = {k: float(v) for k, v in (meta.thresholds or {}).items() if k in ("frr", "f1")}
    n_good = int(cal.get("n_good", 0))
    return ThresholdBasis(
        meta.threshold_method,
        meta.target_frr,
        n_good,
        int(cal.get("n_defect", 0)),
        presets,
        meta.calibration_warning(),
    )


def load_model(store: BlobStore, version: ModelVersion) -> InspectionModel:
    """The version's file opened with ONNX Runtime (one thread), a few kept in memory."""
    with _LOCK:
        model = _MODELS.get(version.sha256)
        if model is not None:
            _MODELS.move_to_end(version.sha256)
            return model
    try:
        model = InspectionModel.load(store.path(version.sha256), threads=1)
    except ModelFileError:
        raise InspectionWebError("This model file cannot be opened as an inspection model.") from None
    with _LOCK:
        _MODELS[version.sha256] = model
        while len(_MODELS) > 4:
            _MODELS.popitem(last=False)
    return model


def _items(session: Session, version: ModelVersion) -> list[DatasetItem]:
    if version.dataset_version_id is None:
        return []
    stmt = (
        select(DatasetItem)
        .where(DatasetItem.version_id == version.dataset_version_id, DatasetItem.media_type != "mask")
        .order_by(DatasetItem.path)
    )
    return list(session.scalars(stmt))


def evaluation(session: Session, store: BlobStore, cache_dir: Path, version: ModelVersion) -> Evaluation:
    """Score the data set version's images once per model file (cached as JSON beside the blobs)."""
    model = load_model(store, version)
    # v2: the images a defect head learned from are left out (the training job records them);
    # v3: good images at their held-back scores; v4: the good images to check
    cache = cache_dir / f"{version.sha256}-{version.dataset_version_id}-v4.json"
    if cache.exists():
        d = json.loads(cache.read_text(encoding="utf-8"))
        return Evaluation(
            **{
                **d,
                "images": [Scored(**s) for s in d["images"]],
                "to_check": [Scored(**s) for s in d["to_check"]],
            }
        )
    ev = Evaluation(model.meta.threshold, model.meta.score_low, [])
    train = (version.report or {}).get("train") or {}
    learned = set(train.get("head_items") or [])
    every = _items(session, version)
    items = [it for it in every if it.path not in learned]
    ev.n_left_out = len(every) - len(items)
    known = TrainedGood.of(model.meta)
    ev.held = bool(known.every)
    rest = []
    for it in items:
        fp = fingerprint_of_sha256(it.sha256) if it.label != "ng" else ""
        if fp in known.held:  # as training scored it, against a bank without it
            ev.images.append(Scored(it.id, it.path, 0, known.held[fp]))
            ev.n_held_back += 1
        elif known.in_bank(fp):
            ev.n_in_bank += 1
        else:
            rest.append(it)
    ev.to_check, ev.threshold_setter = to_check(model.meta, every)
    items = rest
    for start in range(0, len(items), BATCH):
        batch, images = [], []
        for it in items[start : start + BATCH]:
            try:
                images.append(read_image(store.path(it.sha256)))
                batch.append(it)
            except BadImageError:
                ev.skipped.append(it.path)
        raw, _ = model.raw_maps(images, BATCH) if images else (np.zeros(0), None)
        for it, r in zip(batch, raw, strict=True):
            ev.images.append(Scored(it.id, it.path, int(it.label == "ng"), float(r)))
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = asdict(ev)
    cache.write_text(json.dumps(data), encoding="utf-8")
    return ev


def to_check(meta: ModelMeta, items: list[DatasetItem]) -> tuple[list[Scored], int | None]:
    """The good images training listed to check (``meta.calibration["unusual_good"]``), as the
    data set version's items (by file content), highest score first (those not in it skipped),
    and the item id of the one whose score is the target-rate threshold
    (``goodcheck.sets_threshold``), ``None`` when it is not among them.

    >>> u = {"name": "ok/a.png", "fingerprint": "ab" * 8, "score": 2.5, "held_back": True}
    >>> meta = ModelMeta("b", 8, (0.0,) * 3, (1.0,) * 3, 1, 1, 1.0, 1.0, 0.0,
    ...                  thresholds={"frr": 2.5}, calibration={"unusual_good": [u]})
    >>> it = DatasetItem(id=7, path="ok/a.png", sha256="ab" * 32, label=None)
    >>> listed, setter = to_check(meta, [it])
    >>> [(s.item_id, s.path, s.raw) for s in listed], setter, to_check(meta, [])
    ([(7, 'ok/a.png', 2.5)], 7, ([], None))
    >>> from dataclasses import replace
    >>> to_check(replace(meta, thresholds={"frr": 2.0}), [it])[1] is None
    True
    """
    by_fp = {fingerprint_of_sha256(it.sha256): it for it in items if it.label != "ng"}
    found = [UnusualGood.from_dict(d) for d in (meta.calibration or {}).get("unusual_good") or []]
    listed = [
        Scored(it.id, it.path, 0, u.score) for u in found if (it := by_fp.get(u.fingerprint)) is not None
    ]
    i = sets_threshold(found, (meta.thresholds or {}).get("frr"))
    setter = by_fp.get(found[i].fingerprint) if i is not None else None
    return listed, setter.id if setter is not None else None


def label_page(session: Session, version: ModelVersion) -> str | None:
    """The labeling page of the model's data set, when the model was trained on the data set's
    latest version (the page shows that version's images, whose ids the report links to)."""
    if version.dataset_version_id is None:
        return None
    trained_on = session.get(DatasetVersion, version.dataset_version_id)
    if trained_on is None:
        return None
    latest = ds_service.latest_version(session, trained_on.dataset_id)
    return (
        f"/datasets/{trained_on.dataset_id}/label"
        if latest is not None and latest.id == trained_on.id
        else None
    )


def metrics_at(ev: Evaluation, threshold: float) -> dict[str, Any]:
    """Image AUROC, F1, false-reject and escape rates at ``threshold`` (None where not measurable)."""
    labels, raw = ev.arrays()
    c = confusion(labels, raw, threshold)
    return {
        "image_auroc": auroc(labels, raw) if len(raw) else None,
        "f1": c.f1 if labels.any() else None,
        "false_reject_rate": c.false_reject_rate,
        "escape_rate": c.escape_rate,
        "confusion": c.to_dict(),
        "n_good": int((labels == 0).sum()),
        "n_defect": int((labels == 1).sum()),
    }


class Worst(NamedTuple):
    """The ``shown`` worst cases of one kind, of ``total`` at the threshold."""

    shown: list[Scored]
    total: int


def worst(ev: Evaluation, threshold: float, n: int = 4) -> dict[str, Worst]:
    """The highest-scoring good images rejected and the lowest-scoring defects passed, ``n`` of each.

    >>> ev = Evaluation(1.0, 0.0, [Scored(i, f"{i}.png", i % 2, i / 4) for i in range(12)])
    >>> w = worst(ev, 1.0)
    >>> [s.raw for s in w["false_rejects"].shown], w["false_rejects"].total
    ([2.5, 2.0, 1.5], 3)
    >>> [s.raw for s in w["escapes"].shown], w["escapes"].total
    ([0.25, 0.75], 2)
    >>> worst(ev, 9.0)["escapes"].total, len(worst(ev, 9.0)["escapes"].shown)
    (6, 4)
    """
    fr = sorted((s for s in ev.images if s.label == 0 and s.raw > threshold), key=lambda s: -s.raw)
    esc = sorted((s for s in ev.images if s.label == 1 and s.raw <= threshold), key=lambda s: s.raw)
    return {"false_rejects": Worst(fr[:n], len(fr)), "escapes": Worst(esc[:n], len(esc))}


#: Longer side, in pixels, of the heat maps the pages show (the map itself is at the model's
#: resolution): a 20-megapixel photo's full-size overlay would be tens of MB of PNG.
WEB_IMAGE_SIDE = 1280


def web_sized(image: np.ndarray, side: int = WEB_IMAGE_SIDE) -> np.ndarray:
    """``image`` (H, W, 3) shrunk so that its longer side is at most ``side``; never enlarged.

    >>> web_sized(np.zeros((1000, 3000, 3), np.uint8)).shape, web_sized(np.zeros((5, 9, 3), np.uint8)).shape
    ((427, 1280, 3), (5, 9, 3))
    """
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.Resampling.BILINEAR))


def _png(prediction: Prediction, image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    prediction.heatmap(web_sized(image)).save(buf, format="PNG")
    return buf.getvalue()


def heatmap_png(session: Session, store: BlobStore, version: ModelVersion, item_id: int) -> bytes:
    """Heat-map overlay (PNG) of one image of the model's data set version; other items are 404."""
    item = session.get(DatasetItem, item_id)
    if item is None or version.dataset_version_id is None or item.version_id != version.dataset_version_id:
        raise NotFound("DatasetItem", item_id)
    model = load_model(store, version)
    try:
        image = read_image(store.path(item.sha256))
    except BadImageError:
        raise InspectionWebError("This image cannot be read: {name}", name=item.path) from None
    # a good image held back in training: the map that gave it the score the report shows
    held = model.held_back_prediction(fingerprint_of_sha256(item.sha256), image, item.path)
    return _png(held or model.predict([image], [item.path])[0], image)


def try_photo(store: BlobStore, version: ModelVersion, data: bytes, name: str) -> tuple[Prediction, bytes]:
    """Score one uploaded photo with the version's threshold: the prediction and its heat-map PNG."""
    if len(data) > MAX_PHOTO_BYTES:
        raise InspectionWebError("The photo is larger than {mb} MB.", mb=MAX_PHOTO_BYTES // (1024 * 1024))
    try:
        image = decode_image(data, name or "photo")
    except BadImageError:
        raise InspectionWebError(
            "The photo {name} could not be read: it is empty, damaged or not an image "
            "(PNG, JPEG, BMP or TIFF).",
            name=name or "photo",
        ) from None
    model = load_model(store, version)
    prediction = model.predict([image], [name])[0]
    return prediction, _png(prediction, image)


def parse_threshold(value: str) -> float:
    """A threshold typed or dragged in the report: any finite number here; whether the model
    takes it (:func:`save_threshold`) depends on what its scores are."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise InspectionWebError("The threshold must be a number.") from None
    if not math.isfinite(t):
        raise InspectionWebError("The threshold must be a number.")
    return t


def save_threshold(
    session: Session,
    store: BlobStore,
    cache_dir: Path,
    model: RegisteredModel,
    version: ModelVersion,
    threshold: float,
) -> ModelVersion:
    """Write a copy of the model file with ``threshold`` as the next version (the new candidate).

    The file carries the threshold, so the web try-out, downloads and ``aion inspect predict`` on an
    edge PC all use it. Audited as ``inspection_threshold``. A model whose scores are distances
    takes a threshold above 0; one whose scores are in standard deviations of good images
    (``score_fractions``) any number (below 0 rejects more than half of the good parts, but it is
    the user's call).
    """
    opened = load_model(store, version)
    if threshold <= 0 and not opened.meta.score_fractions:
        raise InspectionWebError("The threshold must be a number above 0.")
    if abs(threshold - opened.meta.threshold) < 1e-12:
        raise InspectionWebError("This threshold is already the model's threshold.")
    ev = evaluation(session, store, cache_dir, version)
    new_model = opened.with_threshold(threshold, "manual")
    metrics = {k: v for k, v in metrics_at(ev, threshold).items() if isinstance(v, float)}
    metrics["threshold"] = threshold
    with tempfile.TemporaryDirectory(prefix="aion-threshold-") as tmp:
        path = new_model.save(Path(tmp) / "model.aion")
        mv = reg.register_version(
            session,
            store,
            model,
            path,
            dataset_version_id=version.dataset_version_id,
            job_id=version.job_id,
            params={**(version.params or {}), "threshold": threshold, "threshold_from": version.number},
            metrics=metrics,
            report={**(version.report or {}), "threshold_from_version_id": version.id},
        )
    reg.set_alias(session, model, "candidate", mv.id)
    audit.record(
        session,
        "inspection_threshold",
        "RegisteredModel",
        model.id,
        company_id=model.company_id,
        detail={"from_version": version.number, "version": mv.number, "threshold": threshold},
    )
    return mv
