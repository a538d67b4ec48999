"""Training: patch features of good images -> greedy coreset memory bank -> calibrated threshold."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aion.solutions.inspection import goodcheck
from aion.solutions.inspection.align import WEAK_MATCH, PartAligner, is_weak_match, turn_warning
from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.coarse import emulate
from aion.solutions.inspection.config import TrainConfig, calibration_count
from aion.solutions.inspection.coreset import greedy_coreset
from aion.solutions.inspection.data import ImageItem, InspectionDataset, load_dataset
from aion.solutions.inspection.errors import BadImageError, InspectionError
from aion.solutions.inspection.featuregraph import feature_graph, level_scale
from aion.solutions.inspection.goodcheck import UnusualGood
from aion.solutions.inspection.headfit import HeadFit, fit_head
from aion.solutions.inspection.knn import (
    IVF_MIN_BANK,
    IvfLists,
    NearestNeighbour,
    build_ivf,
    nearest_excluding,
)
from aion.solutions.inspection.meta import (
    ALIGN_FORMAT_VERSION,
    AREA_FORMAT_VERSION,
    HEAD_FORMAT_VERSION,
    SEARCH_FORMAT_VERSION,
    TURN_FORMAT_VERSION,
    ModelMeta,
)
from aion.solutions.inspection.model import InspectionModel
from aion.solutions.inspection.predictions import SkippedImage
from aion.solutions.inspection.runners import OnnxRunner
from aion.solutions.inspection.scoring import good_statistics, pooled_scores
from aion.solutions.inspection.threshold import choose_threshold, f1_threshold, frr_threshold

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]


@dataclass
class TrainReport:
    """What happened during training (shown by the CLI and the web app)."""

    n_fit_images: int
    n_calibration_images: int
    n_defect_images: int
    n_patches: int
    bank_size: int
    threshold: float
    threshold_method: str
    calibration_frr: float
    calibration_escape_rate: float | None
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[SkippedImage] = field(default_factory=list)
    n_head_images: int = 0  # labelled defect images with masks the defect head learned from (0: none)
    # the head's gain on its calibration images, out of fold: pixel_auroc_bank / _head, aupro_bank / _head
    head_gain: dict[str, float] = field(default_factory=dict)
    # what the user should know about the model (bilingual "Korean / English"): a threshold that
    # cannot keep its target false-reject rate (``threshold.calibration_warning``)
    warnings: list[str] = field(default_factory=list)
    # the good images to check: the highest scores as new parts, highest first (``goodcheck.py``)
    unusual_good: list[UnusualGood] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["skipped"] = [s.to_dict() for s in self.skipped]
        d["unusual_good"] = [u.to_dict() for u in self.unusual_good]
        return d

    @property
    def n_unusual_rejected(self) -> int:
        """How many of the good images to check the model's threshold rejects."""
        return sum(1 for u in self.unusual_good if u.score > self.threshold)


def _decode(
    items: Sequence[ImageItem], skipped: list[SkippedImage], fingerprints: list[str] | None = None
) -> tuple[list[int], list[np.ndarray]]:
    """Decode ``items``: the indices of those that decoded, and their images; the others are
    logged and added to ``skipped``. The files' :func:`~.data.fingerprint` of those that decoded
    are appended to ``fingerprints`` when given."""
    kept, images = [], []
    for k, item in enumerate(items):
        try:
            if fingerprints is None:
                images.append(item.load())
            else:
                image, fp = item.load_fingerprinted()
                images.append(image)
                fingerprints.append(fp)
            kept.append(k)
        except BadImageError as e:
            log.warning("%s", e)
            skipped.append(SkippedImage(item.name, e.reason))
    return kept, images


#: Images whose patches a defect head scores at once in the check of the good images.
CHECK_CHUNK = 64
#: Fewest calibration images (held back, or every image scored leave one out) whose spread
#: standardises the pooled image statistics; with fewer, the top fraction is used alone.
MIN_POOLED_IMAGES = 5


def _format_version(area: InspectionArea) -> int:
    """The oldest model format that holds ``area`` (older readers refuse what they would misread)."""
    if area.turn:
        return TURN_FORMAT_VERSION
    return ALIGN_FORMAT_VERSION if area.align else AREA_FORMAT_VERSION if area else 4


def _reference(ds: InspectionDataset, items: Sequence[ImageItem], cfg: TrainConfig) -> np.ndarray | None:
    """The reference photo's grey copy for an area that follows the part (``align.py``): the
    image ``cfg.align_reference`` names (any image of the set), else the first training image."""
    if not cfg.area.align or cfg.area.crop is None:
        return None
    name = cfg.align_reference
    chosen = ds.named(name) if name else (items[0] if items else None)
    if chosen is None:
        raise InspectionError(
            f"기준 사진이 데이터에 없음: {name} / The reference photo is not in the data: {name}"
        )
    try:
        image = chosen.load()
    except BadImageError as e:
        raise InspectionError(f"기준 사진을 읽을 수 없음 / Cannot read the reference photo: {e}") from e
    return PartAligner(cfg.area.crop).fit(image).frame_


def _score_statistics(meta: ModelMeta, good_maps: np.ndarray, n_held: int, cfg: TrainConfig) -> ModelMeta:
    """``meta`` with the pooled image statistics' fractions and their mean and deviation over
    the held-back good images' maps (unchanged without pooled fractions or enough of them)."""
    if not cfg.pooled_fractions or n_held < MIN_POOLED_IMAGES:
        return meta
    fractions = [cfg.top_fraction, *sorted(set(cfg.pooled_fractions) - {cfg.top_fraction})]
    mean, std = good_statistics(pooled_scores(good_maps, fractions))
    return replace(meta, score_fractions=fractions, score_mean=mean, score_std=std)


def _split(n: int, fraction: float, seed: int, minimum: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of fit and calibration images: ``fraction`` of ``n`` held back, at least
    ``minimum`` of them. When that is every image (or a set under 4), both are every image: each
    is then scored leave one out (against the bank less its own patches).

    >>> [len(part) for part in _split(1000, 0.2, 0, minimum=100)], [len(part) for part in _split(300, 0.2, 0, 100)]
    ([800, 200], [200, 100])
    >>> [len(part) for part in _split(60, 0.2, 0, minimum=100)], [len(part) for part in _split(10, 0.2, 0)]
    ([60, 60], [8, 2])
    """
    idx = np.random.default_rng(seed).permutation(n)
    n_cal = calibration_count(n, fraction, minimum)
    if n_cal == n:
        return np.sort(idx), np.sort(idx)
    return np.sort(idx[n_cal:]), np.sort(idx[:n_cal])


def _bank_size(cfg: TrainConfig, n_patches: int) -> int:
    k = int(round(cfg.coreset_ratio * n_patches))
    return min(n_patches, max(cfg.min_bank_size, min(cfg.max_bank_size, k)))


def _coreset_progress(report: Progress, total: int) -> Callable[[int], Callable[[str, float], None]]:
    """Progress of the two coreset passes (fit images, then held-back images) as one bar."""

    def part(done: int) -> Callable[[str, float], None]:
        return lambda _stage, f: report("coreset", min(1.0, (done + f * (total - done)) / total))

    return part


def train(
    data: InspectionDataset | Path | str,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    defects: Sequence[ImageItem] | None = None,
) -> InspectionModel:
    """Train on the good images of ``data``; labelled ``defects`` (default: the ``ng`` images of an
    OK/NG set) calibrate an F1-optimal threshold, and those given as ``defects`` with masks also
    train a defect head beside the memory bank (``head.py``; ``cfg.defect_head``). The report is in
    ``model.train_report_``."""
    cfg = config or TrainConfig()
    if not all(0.0 < f <= 1.0 for f in cfg.pooled_fractions):
        raise InspectionError(
            f"pooled_fractions는 0 초과 1 이하: {cfg.pooled_fractions} / "
            f"pooled_fractions must lie in (0, 1]: {cfg.pooled_fractions}"
        )
    if cfg.search_stride not in (1, 2) or not 0.0 < cfg.refine_quantile <= 1.0:
        raise InspectionError(
            f"search_stride는 1 또는 2, refine_quantile은 0 초과 1 이하: {cfg.search_stride}, "
            f"{cfg.refine_quantile} / search_stride must be 1 or 2 and refine_quantile in (0, 1]: "
            f"{cfg.search_stride}, {cfg.refine_quantile}"
        )
    ds = data if isinstance(data, InspectionDataset) else load_dataset(Path(data))
    report_progress: Progress = progress or (lambda stage, frac: None)
    times: dict[str, float] = {}
    t0 = time.perf_counter()

    backbone = feature_graph(cfg)  # (a user's ONNX backbone trains without torch)
    onnx = backbone.onnx()
    fast = OnnxRunner(onnx, cfg.threads)  # same graph, several times faster than eager torch on CPU
    times["backbone"] = time.perf_counter() - t0

    skipped: list[SkippedImage] = []
    items = list(ds.train)
    if not items:
        raise InspectionError(f"학습할 양품 이미지가 없음: {ds.root} / No good images to train on: {ds.root}")
    # split by item, before decoding: images are decoded a batch at a time (thousands of
    # high-resolution photos never sit in memory at once); unreadable ones are skipped there
    fit_idx, cal_idx = _split(len(items), cfg.holdout_fraction, cfg.seed, cfg.min_calibration_images)

    grid = cfg.resolution // 8
    meta = ModelMeta(
        backbone=cfg.backbone,
        resolution=cfg.resolution,
        mean=backbone.mean,
        std=backbone.std,
        grid=grid,
        feature_dim=0,
        sigma=cfg.sigma,
        threshold=0.0,
        score_low=0.0,
        target_frr=cfg.target_frr,
        top_fraction=cfg.top_fraction,
        blocks=backbone.blocks,
        layers=backbone.layers,
        n_train_images=len(items),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        graph_input="pixels",
        area=cfg.area.to_dict(),
        version=_format_version(cfg.area),
    )
    frame = _reference(ds, items, cfg)
    probe = InspectionModel(meta, np.zeros((1, 1), np.float32), fast, cfg.threads, align_frame=frame)
    if probe.ignored_patches.all():  # before any work: nothing would count
        raise InspectionError(
            f"무시 영역이 검사 영역 전체를 덮어 검사할 곳이 없음: {cfg.area.to_dict()} / The ignore boxes cover "
            f"the whole inspected area (with the patches next to them): nothing is left to inspect: "
            f"{cfg.area.to_dict()}"
        )
    weak: list[str] = []  # training photos where the part hardly looked like the reference
    at_limit: list[bool] = []  # and whether each one's part was found as far as the search turns

    t1 = time.perf_counter()
    # features of every good image, once: the fit images build the memory bank, the held-back
    # ones are scored against it for the threshold and then join the bank too
    # _split gives disjoint fit / held-back sets, or (small sets) every image as both: each is
    # then scored leave one out
    held = np.setdiff1d(cal_idx, fit_idx)
    order = np.concatenate([fit_idx, held]).astype(np.int64)
    feats: np.ndarray | None = None  # (images, grid * grid, D): fit images first, then held-back
    loaded_fps: list[str] = []  # the file fingerprint of each row of ``feats``
    loaded_names: list[str] = []  # ... and where it lies in the data (``ImageItem.member``)
    n_fit = n_loaded = 0
    for s in range(0, len(order), cfg.batch_size):
        batch_items = [items[i] for i in order[s : s + cfg.batch_size]]
        kept, images = _decode(batch_items, skipped, loaded_fps)
        loaded_names += [batch_items[k].member or batch_items[k].name for k in kept]  # where it lies
        if images:
            placed = probe.place_all(images)
            weak += [  # by their paths in the data, as the good images to check are named
                batch_items[k].member or batch_items[k].name
                for k, p in zip(kept, placed, strict=True)
                if is_weak_match(p.match)
            ]
            at_limit += [p.at_limit for p in placed]
            f = probe.patch_features(probe.batch(images, [p.area for p in placed]))
            if feats is None:
                feats = np.empty((len(order), *f.shape[1:]), dtype=np.float32)
            feats[n_loaded : n_loaded + len(f)] = f
            n_fit += sum(1 for k in kept if s + k < len(fit_idx))  # ``order`` lists the fit images first
            n_loaded += len(f)
        report_progress("features", min(1.0, (s + cfg.batch_size) / len(order)))
    if feats is None:
        raise InspectionError(
            f"학습할 양품 이미지가 없음: {ds.root} / No readable good images to train on: {ds.root}"
        )
    feats = feats[:n_loaded]
    if n_fit == 0:  # every fit image was unreadable: the held-back ones build the bank
        n_fit = n_loaded
    n_held = n_loaded - n_fit
    # no held-back images (a set of at most ``min_calibration_images``): every image calibrates,
    # scored against the bank less its own patches; a single image can only score itself
    loo = not n_held and n_fit > 1
    n_cal = n_held or n_fit
    as_new = bool(n_held) or loo  # the calibration scores are what new parts would score
    meta = replace(meta, n_train_images=n_loaded, train_fingerprints=loaded_fps)
    scale = level_scale(feats, backbone.dims) if cfg.level_norm else None
    if scale is not None:
        feats *= scale
        onnx = backbone.onnx(scale)  # the shipped graph applies the factors itself
        fast = OnnxRunner(onnx, cfg.threads)
    runner = backbone.runner(onnx, cfg.threads)
    times["features"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    d = feats.shape[2]
    n_patches = len(feats) * feats.shape[1]
    k_all = _bank_size(cfg, n_patches)
    fit_flat = feats[:n_fit].reshape(-1, d)  # a view, no copy
    k_fit = min(k_all, _bank_size(cfg, len(fit_flat)))
    report = _coreset_progress(report_progress, k_all)
    fit_rows = np.sort(
        greedy_coreset(fit_flat, k_fit, seed=cfg.seed, threads=cfg.threads, progress=report(0))
    )
    bank = fit_flat[fit_rows]
    owner = np.full(len(bank), -1, dtype=np.int64)  # the held-back image each bank row came from
    if n_held and k_all > len(bank):  # the held-back images join the bank (same ratio)
        held_flat = feats[n_fit:].reshape(-1, d)
        k_held = min(len(held_flat), k_all - len(bank))
        extra_idx = np.sort(
            greedy_coreset(held_flat, k_held, seed=cfg.seed, threads=cfg.threads, progress=report(len(bank)))
        )
        bank = np.concatenate([bank, held_flat[extra_idx]])
        owner = np.concatenate([owner, extra_idx // feats.shape[1]])
        del held_flat
    times["coreset"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    meta = replace(meta, feature_dim=int(d))
    if scale is not None:
        meta = replace(meta, feature_scale=[float(x) for x in scale])
    scorer = InspectionModel(meta, bank, fast, cfg.threads, align_frame=frame)  # exact search, whole bank
    report_progress("calibrate", 0.0)
    if n_held:  # each held-back image against the bank less the rows taken from it: as a new part
        patches = nearest_excluding(
            feats[n_fit:], bank, owner, progress=lambda fraction: report_progress("calibrate", fraction)
        ).reshape(n_held, grid, grid)
    elif loo:  # every image against the bank less its own rows
        patches = nearest_excluding(
            feats[:n_fit],
            bank,
            fit_rows // feats.shape[1],
            progress=lambda fraction: report_progress("calibrate", fraction),
        ).reshape(n_fit, grid, grid)
    else:  # a single image: only its own score (calibration_warning says what that means)
        patches = scorer.scores_of_features(feats[:n_fit])
    head_wanted = (
        defects is not None
        and cfg.defect_head
        and as_new
        and n_cal >= MIN_POOLED_IMAGES
        and any(it.mask_member is not None for it in defects)
    )
    # the images that built the bank are checked too (goodcheck.py; the held-back ones were scored
    # just above), once the bank's search is built: their features are kept till then (with a
    # head, through its fit: the head scores them beside their distances, as it scores new parts)
    check_feats = feats[:n_fit] if n_held and cfg.check_good else None
    report_progress("calibrate", 1.0)  # the rest of calibration (below, after any head) is quick
    # only the held-back images' features are needed from here (the defect head learns from them):
    # the fit images' go before the head's fit, the largest step of training (unless the check
    # keeps them: then the held-back ones stay a view of the same array, not a copy)
    held_feats = feats[n_fit:] if n_held else feats[:n_fit]
    if check_feats is None:
        held_feats = held_feats.copy()
    del feats, fit_flat
    defect_items = list(defects) if defects is not None else ds.train_defects
    head_fit: HeadFit | None = None
    head_gain: dict[str, float] = {}
    head_decoded: list[np.ndarray] = []  # the head's images, while they may still be needed below
    if head_wanted:
        # labelled masks given with the defects: a head beside the bank learns what they mark
        head_items = [it for it in defect_items if it.mask_member is not None]
        defect_items = [it for it in defect_items if it.mask_member is None]
        kept, head_decoded = _decode(head_items, skipped)
        head_items = [head_items[k] for k in kept]
        report_progress("defect head", 0.0)
        t_head = time.perf_counter()
        head_fit = fit_head(
            scorer,
            head_items,
            head_decoded,
            held_feats,
            patches,
            cfg.seed,
            cfg.batch_size,
            cfg.head_flips,
            progress=lambda fraction: report_progress("defect head", fraction),
        )
        times["defect_head"] = time.perf_counter() - t_head
        report_progress("defect head", 1.0)
        if head_fit is not None:
            head_gain = head_fit.pixel_gain(scorer, patches)
            patches = head_fit.good_patches
            scorer.defect_head_ = head_fit.head
            meta = replace(
                meta,
                defect_head=head_fit.settings,
                head_images=head_fit.keys,
                version=max(meta.version, HEAD_FORMAT_VERSION),
            )
            head_decoded = []  # scored out of fold below
    # new parts are searched coarse to fine: the held-back images' maps are made the same way.
    # Not with a defect head: it reads the distance of every patch and its windows, and lost
    # pixel AUROC on interpolated ones (docs/benchmarks.md, fourteenth session). Decided after the
    # head's fit: when too few masks mark a defect for a head, the model has none and searches so
    if cfg.search_stride == 2 and head_fit is None:
        counted = patches[:, ~scorer.ignored_patches]  # not the ignore boxes' patches: they never count
        level = float(np.quantile(counted if counted.size else patches, cfg.refine_quantile))
        patches = emulate(patches, level, scorer.ignored_patches)  # as new parts are searched
        meta = replace(
            meta, search_stride=2, refine_level=level, version=max(meta.version, SEARCH_FORMAT_VERSION)
        )
    held_patches = patches.astype(np.float16) if as_new else None  # their heat maps, for reports
    good_maps = scorer.anomaly_maps(patches)
    meta = _score_statistics(meta, good_maps, n_cal if as_new else 0, cfg)
    scorer.meta = meta
    good_scores = scorer.image_scores(good_maps)
    del good_maps, held_feats
    times["calibrate"] = time.perf_counter() - t3 - times.get("defect_head", 0.0)

    t4 = time.perf_counter()
    if cfg.knn not in ("auto", "exact", "ivf"):
        raise InspectionError(f"knn은 auto, exact, ivf 중 하나: {cfg.knn} / knn must be auto, exact or ivf")
    centroids = None
    ivf: IvfLists | None = None
    extra: dict[str, Any] = {"knn": "exact"}
    if cfg.knn == "ivf" or (cfg.knn == "auto" and len(bank) >= IVF_MIN_BANK):
        order, ivf = build_ivf(bank, seed=cfg.seed)
        bank, centroids = bank[order], ivf.centroids
        extra.update(knn="ivf", ivf_sizes=[int(x) for x in ivf.sizes], ivf_nprobe=ivf.nprobe, ivf_dim=ivf.dim)
    times["coreset"] += time.perf_counter() - t4

    fit_patches = None
    if check_feats is not None:  # each against the bank less its own rows, searched as new parts are
        t_check = time.perf_counter()
        rows = goodcheck.rows_owned(fit_rows, check_feats.shape[1], len(bank))
        owner_fit = rows if ivf is None else rows[order]  # the bank is now in the lists' order
        search = NearestNeighbour(bank, cfg.threads, ivf=ivf)
        try:
            fit_patches = goodcheck.scored_as_new(
                check_feats,
                bank,
                owner_fit,
                grid,
                meta.refine_level if meta.search_stride == 2 else None,
                search.search,
                progress=lambda fraction: report_progress("check", fraction),
            )
        finally:
            search.close()
        if scorer.defect_head_ is not None:  # the head did not learn from them: as new parts
            fit_patches = np.concatenate(
                [
                    scorer.combined(check_feats[i : i + CHECK_CHUNK], fit_patches[i : i + CHECK_CHUNK])
                    for i in range(0, len(fit_patches), CHECK_CHUNK)
                ]
            )
        del check_feats
        times["check"] = time.perf_counter() - t_check

    t5 = time.perf_counter()
    meta = replace(meta, **extra)
    _, bad = _decode(defect_items, skipped)
    bad += head_decoded  # the head's images when too few of their masks mark a defect for a head
    parts = [scorer.raw_maps(bad, cfg.batch_size)[0]] if bad else []
    if head_fit is not None:  # the head's own images, scored by heads that did not learn from them
        parts.append(scorer.image_scores(scorer.anomaly_maps(head_fit.defect_patches)))
    defect_scores = np.concatenate(parts) if parts else None
    choice = choose_threshold(good_scores, defect_scores, cfg.target_frr, cfg.use_defects)
    thresholds = {"frr": frr_threshold(good_scores, cfg.target_frr)}
    if choice.method == "f1":
        thresholds["f1"] = choice.threshold
    elif defect_scores is not None and len(defect_scores):  # the other choice, for reports to offer
        thresholds["f1"] = f1_threshold(good_scores, defect_scores)[0]
    found, unusual_patches = (
        goodcheck.check_images(
            scorer,
            patches,
            fit_patches,
            good_scores,
            loaded_names,
            loaded_fps,
            n_fit,
            n_held,
            choice.threshold,
        )
        if as_new
        else ([], None)
    )
    del patches, fit_patches
    meta = replace(
        meta,
        threshold=choice.threshold,
        threshold_method=choice.method,
        score_low=float(np.median(good_scores)),
        thresholds=thresholds,
        calibration={
            "n_good": len(good_scores),
            "n_defect": 0 if defect_scores is None else len(defect_scores),
            "frr": choice.frr,
            "escape_rate": choice.escape_rate,
            "f1": choice.f1,
            "good_scores": [round(float(x), 5) for x in good_scores],
            # the held-back good images those scores belong to (as new parts: each was scored
            # against a bank without its own rows: held back, or every image of a small set);
            # none when a single image calibrated on itself
            "good_fingerprints": loaded_fps[n_fit:] if n_held else loaded_fps[:n_fit] if loo else [],
            "defect_scores": [] if defect_scores is None else [round(float(x), 5) for x in defect_scores],
            # the good images to check: the highest scores as new parts (goodcheck.py)
            "unusual_good": [u.to_dict() for u in found],
        },
    )
    times["calibrate"] += time.perf_counter() - t5
    times["total"] = time.perf_counter() - t0
    report_progress("done", 1.0)

    model = InspectionModel(
        meta, bank, runner, cfg.threads, centroids, scorer.defect_head_, held_patches, unusual_patches, frame
    )
    warnings = [w for w in [meta.calibration_warning()] if w]
    if weak:
        warnings.append(
            f"부품이 기준 사진과 잘 맞지 않은 학습 사진 {len(weak)}장: {', '.join(weak[:5])} / The part matched "
            f"the reference photo poorly (correlation < {WEAK_MATCH}) in {len(weak)} training photos: "
            f"{', '.join(weak[:5])}"
        )
    turned = turn_warning(at_limit, cfg.area.turn)
    if turned:
        warnings.append(turned)
    model.train_report_ = TrainReport(
        n_fit_images=n_fit,
        n_calibration_images=n_cal,
        n_defect_images=0 if defect_scores is None else len(defect_scores),
        n_patches=n_patches,
        bank_size=len(bank),
        threshold=choice.threshold,
        threshold_method=choice.method,
        calibration_frr=choice.frr,
        calibration_escape_rate=choice.escape_rate,
        seconds={k: round(v, 3) for k, v in times.items()},
        skipped=skipped,
        n_head_images=len(meta.head_images),
        head_gain={k: round(v, 4) for k, v in head_gain.items()},
        warnings=warnings,
        unusual_good=found,
    )
    return model
