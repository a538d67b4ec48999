"""``aion inspect``: train, evaluate and run visual inspection models.

Heavy libraries (torch, onnxruntime, faiss) are imported inside the commands so that
``aion --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from aion.solutions.inspection.config import TrainConfig

#: The training options' defaults are the engine's (``TrainConfig``), never a copy of them.
DEFAULTS = TrainConfig()

app = typer.Typer(no_args_is_help=True, help="Visual quality inspection. / 외관 검사.")


def _console(stderr: bool = True) -> Any:
    from rich.console import Console

    # soft wrap: a long line is never broken by us, so a file path in a message stays whole
    # (copyable; the terminal wraps it on screen)
    return Console(stderr=stderr, soft_wrap=True)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr, one task per stage name."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    labels = {
        "load": "이미지 읽기 / Loading",
        "features": "특징 추출 / Features",
        "coreset": "코어셋 / Coreset",
        "defect head": "불량 헤드 / Defect head",
        "calibrate": "임계값 / Threshold",
        "check": "양품 이미지 점검 / Checking good images",
        "evaluate": "평가 / Evaluating",
        "predict": "검사 / Inspecting",
        "speed": "속도 측정 / Timing",
        "done": "완료 / Done",
    }
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=_console(),
        disable=not enabled,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=1.0)
            bar.update(tasks[stage], completed=fraction)

        yield update


def _fractions(text: str) -> tuple[float, ...]:
    """``--pooled-fractions``: comma-separated shares in (0, 1], or ``none``."""
    from aion.solutions.inspection.errors import InspectionError

    if text.strip().lower() in ("", "none"):
        return ()
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0.0 < v <= 1.0 for v in values):
        _fail(
            InspectionError(
                f"--pooled-fractions는 0 초과 1 이하의 비율을 쉼표로 나눈 값 또는 none: {text} / "
                f"--pooled-fractions takes comma-separated shares in (0, 1], or none: {text}"
            )
        )
    return values


def _plain(text: object) -> str:
    r"""``text`` shown as it is: square brackets (``aion[train]``, a file ``part[1].png``) are not
    rich markup.

    >>> print(_plain("pip install 'aion[train]'"))
    pip install 'aion\[train]'
    """
    from rich.markup import escape

    return escape(str(text))


def _onnx_size(path: Path) -> int | None:
    """The image side an ONNX backbone is fixed to (``None``: any, or the file cannot be read;
    training then says why)."""
    from aion.solutions.inspection import onnxbackbone
    from aion.solutions.inspection.errors import InspectionError

    try:
        return onnxbackbone.input_size(onnxbackbone.read_model(path))
    except InspectionError:
        return None


def _skipped(con: Any, skipped: list[Any]) -> None:
    """Name each image a command skipped, with the reason (``SkippedImage``)."""
    for s in skipped:
        con.print(
            f"[yellow]손상된 이미지를 건너뜀 / Skipped bad image:[/yellow] {_plain(s.name)} ({_plain(s.reason)})"
        )


def _fail(e: Exception) -> NoReturn:
    _console().print(f"[red]오류 / Error:[/red] {_plain(e)}")
    raise typer.Exit(code=2) from e


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@app.command("train")
def train_cmd(
    data_dir: Path = typer.Argument(..., help="MVTec-style folder, ok/ng folder, or a zip of either."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.aion)."),
    backbone: str = typer.Option(
        DEFAULTS.backbone, help="efficientnet-lite0 | resnet18 | wide_resnet50_2 | onnx (your own graph)"
    ),
    weights: Path | None = typer.Option(
        None, help="ResNet backbones: a torchvision state_dict file; onnx: the .onnx file."
    ),
    layers: str | None = typer.Option(
        None,
        help="onnx: feature maps to use, comma-separated tensor names (default: the stride-8 and "
        "stride-16 stage ends; `aion inspect layers FILE` lists them).",
    ),
    pixel_norm: str = typer.Option(
        DEFAULTS.pixel_norm,
        help="onnx: the input normalisation the graph expects: imagenet | symmetric (-1..1) | unit (0..1).",
    ),
    target_frr: float = typer.Option(
        DEFAULTS.target_frr, help="Accepted false-reject rate on good parts (0-1)."
    ),
    resolution: int | None = typer.Option(
        None,
        help=f"Model input size in pixels (multiple of 32; default {DEFAULTS.resolution}, or the size "
        "an ONNX backbone is fixed to).",
    ),
    blocks: str | None = typer.Option(
        None,
        help="EfficientNet-Lite0 levels, comma-separated block numbers (default 4,10); "
        "2,4,10 adds the stride-4 level for very small defects (docs/inspection.md).",
    ),
    coreset_ratio: float = typer.Option(
        DEFAULTS.coreset_ratio, help="Memory bank size as a fraction of training patches."
    ),
    pooled_fractions: str = typer.Option(
        ",".join(f"{f:g}" for f in DEFAULTS.pooled_fractions),
        help="Shares of the anomaly map pooled beside its top 1% for the image score, each "
        "standardised on held-back good images (1 = whole map; 'none': top 1% alone).",
    ),
    defects: Path | None = typer.Option(
        None,
        help="Folder of a few labelled defect images: they set an F1 threshold, and those with a mask "
        "(<stem>_mask.png or masks/<stem>.png) train a defect head beside the memory bank.",
    ),
    defects_per_kind: int = typer.Option(
        0,
        help="Take this many masked test images of each defect kind of DATA_DIR as labelled defects "
        "(evaluate then leaves them out).",
    ),
    use_defects: bool = typer.Option(
        DEFAULTS.use_defects,
        help="Labelled defects (ng/ or --defects) set an F1-optimal threshold (--no-use-defects: the "
        "--target-frr threshold even then; evaluate still reports what the F1 one would give).",
    ),
    defect_head: bool = typer.Option(
        DEFAULTS.defect_head,
        help="Train a defect head from labelled masks (--no-defect-head: threshold only).",
    ),
    head_flips: bool = typer.Option(
        DEFAULTS.head_flips,
        help="The defect head also learns from each masked image flipped (--no-head-flips: for defects "
        "that depend on the part's orientation).",
    ),
    search_stride: int = typer.Option(
        DEFAULTS.search_stride,
        help="2: search every other row and column of patches and measure exactly only around "
        "patches unlike the good ones (a third of the search); 1: search every patch.",
    ),
    check_good: bool = typer.Option(
        DEFAULTS.check_good,
        help="Score every good image as a new part and list the least typical for you to look at "
        "(--no-check-good: only the held-back ones, a little faster).",
    ),
    heatmaps: Path | None = typer.Option(
        None, help="Folder for the heat maps of the good images to check (<stem>_heatmap.png)."
    ),
    crop: str | None = typer.Option(
        None,
        help="Inspect only this box of each photo: left,top,right,bottom as fractions (0.1,0,0.9,1), "
        "percentages (10%,0%,90%,100%) or pixels of the training photos (64,0,576,480).",
    ),
    ignore: list[str] | None = typer.Option(
        None,
        help="A box whose anomaly never counts (a printed date, a label, a fixture), same units as "
        "--crop, in the whole photo; repeat for several.",
    ),
    align: bool = typer.Option(
        False,
        "--align",
        help="Follow the part: find the --crop's part in each photo and move the crop and ignore boxes "
        "with it (the boxes are drawn on the reference photo).",
    ),
    reference: str | None = typer.Option(
        None,
        help="With --align: the photo the boxes were drawn on, by name or path in DATA_DIR "
        "(default: the first training photo).",
    ),
    turn: float = typer.Option(
        0.0,
        help="With --align: the part may also turn up to this many degrees either way (0-45); the "
        "crop and ignore boxes turn with it. 0: it only moves.",
    ),
    threads: int | None = typer.Option(None, help="CPU threads (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the training report as one JSON object."),
) -> None:
    """Train from good images. / 양품 이미지로 학습합니다."""
    from aion.solutions.inspection.data import defect_folder, load_dataset, marked_defects, sample_defects
    from aion.solutions.inspection.errors import InspectionError
    from aion.solutions.inspection.training import train

    try:
        levels = tuple(int(b) for b in blocks.split(",")) if blocks else None
    except ValueError:
        _fail(
            InspectionError(
                f"--blocks는 쉼표로 나눈 블록 번호 (예: 2,4,10): {blocks} / "
                f"--blocks takes comma-separated block numbers (e.g. 2,4,10): {blocks}"
            )
        )
    pooled = _fractions(pooled_fractions)
    if resolution is None:
        resolution = _onnx_size(weights) if backbone == "onnx" and weights else None
    cfg = TrainConfig(
        backbone=backbone,
        weights=weights,
        resolution=resolution or DEFAULTS.resolution,
        target_frr=target_frr,
        coreset_ratio=coreset_ratio,
        threads=threads,
        blocks=levels,
        layers=tuple(n.strip() for n in layers.split(",") if n.strip()) if layers else None,
        pixel_norm=pixel_norm,
        pooled_fractions=pooled,
        use_defects=use_defects,
        defect_head=defect_head,
        head_flips=head_flips,
        search_stride=search_stride,
        check_good=check_good,
    )
    try:
        ds = load_dataset(data_dir)
        if crop or ignore or align or turn:
            cfg.area = _area(ds, crop, ignore or [], align, reference, turn)
            cfg.align_reference = reference
        # an OK/NG set's NG images with masks or boxes (ng_masks/, ng_boxes/: a data set version
        # downloaded from the web app) train a defect head, as the web's training job does
        extra = marked_defects(ds)
        if defects is not None or defects_per_kind:
            extra = defect_folder(defects) if defects is not None else []
            extra += sample_defects(ds, defects_per_kind, seed=cfg.seed)
        with _progress(not as_json) as progress:
            model = train(ds, cfg, progress=progress, defects=extra)
        model.save(out)
    except InspectionError as e:
        _fail(e)
        return
    rep = model.train_report_
    con = _console()
    _skipped(con, rep.skipped)
    for w in rep.warnings:
        con.print(f"[yellow]주의 / Warning:[/yellow] {_plain(w)}")
    if as_json:
        _emit_json({"model": str(out), **rep.to_dict(), "area": model.meta.area or None})
        return
    _console(stderr=False).print(
        f"모델 저장 / Saved model: [bold]{out}[/bold]\n"
        f"  학습 이미지 / fit images: {rep.n_fit_images}, "
        f"임계값용 / calibration: {rep.n_calibration_images}, "
        f"불량 / defects: {rep.n_defect_images} (불량 헤드 / defect head: {rep.n_head_images})\n"
        f"  메모리 뱅크 / memory bank: {rep.bank_size} / {rep.n_patches} patches\n"
        f"  임계값 / threshold: {rep.threshold:.4f} ({rep.threshold_method}), "
        f"보정 세트 오판율 / calibration FRR: {rep.calibration_frr:.3f}\n"
        f"  시간 / time: {rep.seconds.get('total', 0):.1f} s"
    )
    if cfg.area:
        crop_text = cfg.area.crop.text() if cfg.area.crop else "-"
        _console(stderr=False).print(
            f"  검사 영역 / inspected area: {crop_text}, "
            f"무시 / ignored: {'; '.join(b.text() for b in cfg.area.ignore) or '-'}"
            + (", 부품을 따라감 / follows the part" if cfg.area.align else "")
            + (f" (±{cfg.area.turn:g}° 회전 / turning)" if cfg.area.turn else "")
        )
    gain = rep.head_gain
    if "pixel_auroc_bank" in gain and "pixel_auroc_head" in gain:
        _console(stderr=False).print(
            f"  불량 헤드 효과 (교차 검증) / defect head gain (out of fold): 픽셀 AUROC / pixel AUROC "
            f"{gain['pixel_auroc_bank']:.4f} -> {gain['pixel_auroc_head']:.4f}"
        )
    _print_unusual(model, rep)
    if heatmaps is not None:
        _unusual_heatmaps(con, model, ds, rep.unusual_good, heatmaps)


def _area(
    ds: Any,
    crop: str | None,
    ignore: list[str],
    align: bool = False,
    reference: str | None = None,
    turn: float = 0.0,
) -> Any:
    """``--crop``, ``--ignore``, ``--align`` and ``--turn`` as an inspection area (``area.py``); pixels are
    read against the size of the ``reference`` photo (default: the first training photo) and
    stored as fractions of it."""
    from aion.solutions.inspection.area import Box, InspectionArea

    size = None
    if any(Box.in_pixels(t) for t in [crop or "", *ignore]) and ds.train:
        first = ((ds.named(reference) if reference else None) or ds.train[0]).load()
        size = (int(first.shape[1]), int(first.shape[0]))
    area = InspectionArea.parse(crop, ignore, size, align, turn)
    if size is not None:  # a crop of a few pixels is refused now
        area.check_size(*size)
    return area


#: Good images to check that the plain output names (``--json`` gives all of them).
SHOWN_UNUSUAL = 10


def _print_unusual(model: Any, rep: Any) -> None:
    """The good images to check (``goodcheck.py``): score, whether the threshold rejects it, name."""
    found = rep.unusual_good
    if not found:
        return
    from aion.solutions.inspection.goodcheck import sets_threshold

    t = rep.threshold
    setter = sets_threshold(found, model.meta.thresholds.get("frr"))
    lines = [
        f"확인할 양품 이미지 / Good images to check: {len(found)} "
        f"(새 부품이었다면 불합격 / rejected as new parts: {rep.n_unusual_rejected})"
    ]
    for i, u in enumerate(found[:SHOWN_UNUSUAL]):
        verdict = "[red]NG[/red]" if u.score > t else "OK"
        mark = "  ← 목표 과검출률 임계값을 정한 이미지 / set the target-rate threshold" if i == setter else ""
        lines.append(f"  {u.score:8.4f}  {verdict}  {_plain(u.name)}{mark}")
    if len(found) > SHOWN_UNUSUAL:
        lines.append(f"  … {len(found) - SHOWN_UNUSUAL} / --json")
    lines.append(
        "  불량품이 섞였다면 빼고 다시 학습하세요. 정상 부품이라면 이런 사진을 더 모으면 오판이 줄어듭니다.\n"
        "  Remove any defective part and train again; if they are good parts, more photos like them "
        "mean fewer false rejects."
    )
    _console(stderr=False).print("\n".join(lines))


def _unusual_heatmaps(con: Any, model: Any, ds: Any, found: list[Any], folder: Path) -> None:
    """Write each good image to check's heat map as a new part (``<stem>_heatmap.png``)."""
    from aion.solutions.inspection.errors import BadImageError

    by_name = {it.member or it.name: it for it in ds.train}
    folder.mkdir(parents=True, exist_ok=True)
    for u in found:
        try:
            image = by_name[u.name].load()
        except (KeyError, BadImageError) as e:  # changed since training
            con.print(f"[yellow]{_plain(u.name)}: {_plain(e)}[/yellow]")
            continue
        pred = model.held_back_prediction(u.fingerprint, image, u.name)
        if pred is not None:
            pred.heatmap(image).save(folder / f"{Path(u.name).stem}_heatmap.png")


@app.command("layers")
def layers_cmd(
    onnx_file: Path = typer.Argument(..., help="An ONNX backbone (a CNN exported to ONNX)."),
    resolution: int | None = typer.Option(
        None, help=f"Model input size in pixels (default: the graph's own, else {DEFAULTS.resolution})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the maps as one JSON object."),
) -> None:
    """List an ONNX backbone's feature maps for --layers. / ONNX 백본의 특징 맵을 보여 줍니다."""
    from aion.solutions.inspection import onnxbackbone
    from aion.solutions.inspection.errors import InspectionError

    try:
        graph = onnxbackbone.read_model(onnx_file)
        size = resolution or onnxbackbone.input_size(graph) or DEFAULTS.resolution
        maps = onnxbackbone.feature_maps(graph, size)
        chosen = set(onnxbackbone.default_levels(maps))
    except InspectionError as e:
        _fail(e)
        return
    if as_json:
        _emit_json({"maps": [{**m._asdict(), "default": m.name in chosen} for m in maps]})
        return
    con = _console(stderr=False)
    con.print("  stride  channels  op        residual  name   (* = 기본 / default)")
    for m in maps:  # tensor names are printed as they are (no rich markup)
        mark = "*" if m.name in chosen else " "
        row = f"{mark} {m.stride:>6}  {m.channels:>8}  {m.op:<8}  {'yes' if m.residual else '':<8}  {m.name}"
        con.print(row, markup=False, highlight=False, soft_wrap=True)


@app.command("evaluate")
def evaluate_cmd(
    model_path: Path = typer.Argument(..., help="Model file (.aion)."),
    data_dir: Path = typer.Argument(
        ..., help="Labelled images: MVTec-style test/ or ok/ng folders (or zip)."
    ),
    threshold: float | None = typer.Option(None, help="Override the model's threshold (raw score units)."),
    threads: int | None = typer.Option(None, help="CPU threads for onnxruntime / faiss."),
    report: Path | None = typer.Option(None, help="Also write the full report (per-image scores) as JSON."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary metrics as one JSON object."),
) -> None:
    """Evaluate a model on labelled images. / 모델을 평가합니다."""
    from aion.solutions.inspection.errors import InspectionError
    from aion.solutions.inspection.evaluation import evaluate
    from aion.solutions.inspection.model import InspectionModel

    try:
        with InspectionModel.load(model_path, threads=threads) as model, _progress(not as_json) as progress:
            rep = evaluate(model, data_dir, threshold=threshold, progress=progress)
    except InspectionError as e:
        _fail(e)
        return
    con = _console()
    _skipped(con, rep.skipped)
    if report is not None:
        report.write_text(json.dumps(rep.to_dict(), ensure_ascii=False, indent=2))
    if as_json:
        _emit_json(rep.summary())
        return

    def f(v: float | None, digits: int = 4) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    def signed(v: float | None) -> str:
        return "-" if v is None else f"{v:+.4f}"

    lines = [
        f"이미지 AUROC / image AUROC: {f(rep.image_auroc)}",
        f"픽셀 AUROC / pixel AUROC: {f(rep.pixel_auroc)}   AUPRO: {f(rep.aupro)}",
        f"임계값 / threshold: {rep.threshold:.4f}   F1: {f(rep.f1)}",
        f"오판(양품 불합격)율 / false-reject rate: {f(rep.false_reject_rate)}   "
        f"미검출율 / escape rate: {f(rep.escape_rate)}",
        f"혼동 행렬 / confusion: {rep.confusion}",
    ]
    for name, c in rep.threshold_comparison.items():
        lines.append(
            f"  임계값 {name} / threshold {name} ({c['threshold']:.4f}): F1 {f(c['f1'])}, "
            f"FRR {f(c['false_reject_rate'])}, escape {f(c['escape_rate'])}"
        )
    gain = rep.defect_gain()
    if gain is not None:
        lines.append(
            f"불량 라벨 효과 (f1 - frr) / labelled defects gain (f1 - frr): F1 {signed(gain['f1'])}, "
            f"FRR {signed(gain['false_reject_rate'])}, escape {signed(gain['escape_rate'])}"
        )
    if rep.pixel_auroc_bank is not None:
        lines.append(
            f"불량 헤드 효과 / defect head gain: 픽셀 AUROC / pixel AUROC {f(rep.pixel_auroc_bank)} -> "
            f"{f(rep.pixel_auroc)}, AUPRO {f(rep.aupro_bank)} -> {f(rep.aupro)}"
        )
    if rep.n_left_out:
        lines.append(
            f"불량 헤드가 학습한 이미지 {rep.n_left_out}장은 평가에서 뺌 / "
            f"{rep.n_left_out} images the defect head learned from are left out"
        )
    if rep.n_held_back or rep.n_in_bank:
        lines.append(
            f"모델이 학습한 양품: 떼어 둔 {rep.n_held_back}장은 학습 때 점수(새 부품처럼)로 셈, 메모리 뱅크를 "
            f"만든 {rep.n_in_bank}장은 뺌 / good images the model trained on: {rep.n_held_back} held back "
            f"count at their training scores (as new parts), {rep.n_in_bank} that built the memory bank "
            "are left out"
        )
    lines.append(
        f"속도 / speed: {f(rep.ms_per_image, 1)} ms/image, {f(rep.images_per_second, 1)} images/s "
        f"({rep.n_images} images)"
    )
    _console(stderr=False).print("\n".join(lines))


@app.command("predict")
def predict_cmd(
    model_path: Path = typer.Argument(..., help="Model file (.aion)."),
    images: list[Path] = typer.Argument(..., help="Image files or folders."),
    heatmaps: Path | None = typer.Option(None, help="Folder for heat-map overlays and masks (PNG)."),
    threshold: float | None = typer.Option(None, help="Override the model's threshold (raw score units)."),
    threads: int | None = typer.Option(None, help="CPU threads for onnxruntime / faiss."),
    as_json: bool = typer.Option(False, "--json", help="Print results as one JSON object."),
) -> None:
    """Inspect images: score, OK/NG, regions. / 이미지를 검사합니다."""
    from aion.solutions.inspection.data import iter_image_paths
    from aion.solutions.inspection.errors import BadImageError, InspectionError
    from aion.solutions.inspection.model import InspectionModel

    try:
        paths = list(iter_image_paths(images))
        with InspectionModel.load(model_path, threads=threads) as model, _progress(not as_json) as progress:
            batch = model.predict_files(paths, threshold=threshold, progress=progress)
    except InspectionError as e:
        _fail(e)
        return
    con = _console()
    _skipped(con, batch.skipped)
    if heatmaps is not None:
        for p in batch.predictions:
            try:
                p.save_overlays(heatmaps)
            except BadImageError as e:  # the file changed since it was scored
                con.print(f"[yellow]{_plain(e)}[/yellow]")
    if as_json:
        _emit_json(batch.to_dict())
        return
    con = _console(stderr=False)
    for p in batch.predictions:
        verdict = "[green]OK[/green]" if p.passed else "[red]NG[/red]"
        # which statistic decided an NG: a spot (top_1%), a region (top_10%) or the whole part
        cause = f"  원인/cause={p.cause}" if p.cause and not p.passed else ""
        # an area that follows the part: how well the part matched the reference photo
        match = f"  일치/match={p.part_match:.2f}" if p.part_match is not None else ""
        weak = "  [yellow](부품? / part?)[/yellow]" if p.weak_match else ""
        angle = f"  회전/turn={p.angle:+.1f}°" if p.angle else ""
        con.print(f"{verdict}  {p.score:.3f}  {p.name}  regions={len(p.regions)}{cause}{match}{angle}{weak}")
    n_ng = sum(1 for p in batch.predictions if not p.passed)
    con.print(
        f"합계 / total: {len(batch.predictions)}, 불량 / NG: {n_ng}, 건너뜀 / skipped: {len(batch.skipped)}"
    )


@app.command("speed")
def speed_cmd(
    model_path: Path = typer.Argument(..., help="Model file (.aion)."),
    images: list[Path] = typer.Argument(
        None, help="The line's photos (files or folders); none: synthetic 1280x960 photos."
    ),
    batch: int = typer.Option(1, help="Photos per call: 1 as a station at a camera's pace sees them."),
    rounds: int = typer.Option(30, help="Timed calls (after one warm-up call)."),
    threads: int | None = typer.Option(2, help="CPU threads for onnxruntime, as the line's station uses."),
    every: float | None = typer.Option(
        None, help="Seconds between the camera's photos: say whether this PC keeps up."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
) -> None:
    """Time a model on this PC as the line's station runs it. / 이 PC에서의 검사 속도를 잽니다.

    Run it on the PC beside the line before deploying: the speed measured where the model was
    trained says little about an older PC that also runs other work."""
    from aion.solutions.inspection.data import iter_image_paths
    from aion.solutions.inspection.errors import InspectionError
    from aion.solutions.inspection.model import InspectionModel
    from aion.solutions.inspection.speed import SYNTHETIC_SIZE, measure_speed

    try:
        paths = list(iter_image_paths(images or []))
        if images and not paths:
            raise InspectionError(
                f"사진이 없습니다: {', '.join(map(str, images))} / No photos in: {', '.join(map(str, images))}"
            )
        with InspectionModel.load(model_path, threads=threads) as model, _progress(not as_json) as progress:
            rep = measure_speed(model, paths, batch=batch, rounds=rounds, progress=progress)
    except InspectionError as e:
        _fail(e)
        return
    _skipped(_console(), rep.skipped)
    if as_json:
        _emit_json({**rep.to_dict(), "keeps_up": rep.keeps_up(every) if every else None})
        return
    con = _console(stderr=False)
    w, h = SYNTHETIC_SIZE
    what = f"합성 사진 {w}x{h} / synthetic {w}x{h} photos" if rep.synthetic else "사진 / photos"
    con.print(f"PC: {rep.host} · {rep.cpu} · threads {rep.threads}", markup=False, highlight=False)
    con.print(
        f"사진 한 장 / one photo: 중앙값 / median {rep.ms_median:.1f} ms, 95% {rep.ms_p95:.1f} ms, "
        f"최대 / slowest {rep.ms_max:.1f} ms ({rep.photos} {what}, batch {rep.batch}; "
        f"첫 호출 / warm-up {rep.warmup_ms:.0f} ms, not counted)",
        markup=False,
        highlight=False,
    )
    con.print(f"한 시간에 약 / about {rep.per_hour:,.0f} 장 / photos an hour", markup=False, highlight=False)
    if every:
        if rep.keeps_up(every):
            con.print(f"[green]{every:g} s마다 한 장: 따라갑니다 / one every {every:g} s: keeps up[/green]")
        else:
            con.print(
                f"[red]{every:g} s마다 한 장: 따라가지 못합니다 (더 빠른 PC, 낮은 해상도 모델) / "
                f"one every {every:g} s: does not keep up (a faster PC, a lower-resolution model)[/red]"
            )
