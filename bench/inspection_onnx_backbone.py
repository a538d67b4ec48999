"""A user's own ONNX backbone beside the built-in one, on the same images in the same run.

The "user's" graph is the shipped EfficientNet-Lite0 exported whole to ONNX as a classifier
(batch fixed to 1, as most exports are), so the figures show what the ONNX path itself costs or
changes: its feature maps are found in the graph (``aion inspect layers``), and it trains and
runs without torch. Each model is trained as ``aion inspect train`` does (defaults; the ONNX one
with ``--backbone onnx --weights FILE`` and each ``--pixel-norm`` given) and evaluated as
``aion inspect evaluate`` does.

    PYTHONPATH=$PWD .venv/bin/python bench/inspection_onnx_backbone.py [--sets casting magnetic_tile]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def export_lite0(path: Path, resolution: int) -> Path:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from aion.solutions.inspection.backbones import _load_state_dict, default_lite0_weights

    net = EfficientNet.from_name("efficientnet-lite0", image_size=resolution)
    net.load_state_dict(_load_state_dict(default_lite0_weights()))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net.eval(),
            (torch.zeros(1, 3, resolution, resolution),),
            str(path),
            input_names=["input"],
            output_names=["logits"],
            opset_version=17,
            dynamo=False,
        )
    return path


def run(data: Path, cfg: Any, out: Path, threads: int) -> dict[str, Any]:
    from aion.solutions.inspection import InspectionModel, evaluate, load_dataset, train

    ds = load_dataset(data)
    t0 = time.perf_counter()
    model = train(ds, cfg)
    seconds = time.perf_counter() - t0
    model.save(out)
    with InspectionModel.load(out, threads=threads) as edge:
        rep = evaluate(edge, ds)
    return {
        "layers": model.meta.layers or model.meta.blocks,
        "train_seconds": round(seconds, 1),
        "image_auroc": rep.image_auroc,
        "pixel_auroc": rep.pixel_auroc,
        "aupro": rep.aupro,
        "f1": rep.f1,
        "false_reject_rate": rep.false_reject_rate,
        "images_per_second": rep.images_per_second,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", nargs="+", default=["casting", "magnetic_tile"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--norms", nargs="+", default=["imagenet", "symmetric"])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    import torch

    from aion.solutions.inspection import TrainConfig

    torch.set_num_threads(args.threads)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = TrainConfig(threads=args.threads)
        graph = export_lite0(Path(tmp) / "lite0.onnx", base.resolution)
        for name in args.sets:
            data = args.data / name
            rows = {"built-in efficientnet-lite0": run(data, base, Path(tmp) / f"{name}.aion", args.threads)}
            for norm in args.norms:
                cfg = TrainConfig(threads=args.threads, backbone="onnx", weights=graph, pixel_norm=norm)
                rows[f"onnx (Lite0 exported whole), --pixel-norm {norm}"] = run(
                    data, cfg, Path(tmp) / f"{name}-{norm}.aion", args.threads
                )
            results[name] = rows
            for label, r in rows.items():
                print(
                    f"{name:14s} {label:48s} image AUROC {r['image_auroc']:.4f}  pixel "
                    f"{r['pixel_auroc'] if r['pixel_auroc'] is None else round(r['pixel_auroc'], 4)}  "
                    f"F1 {r['f1']:.4f}  FRR {r['false_reject_rate']:.4f}  train {r['train_seconds']} s  "
                    f"{r['images_per_second']:.1f} img/s  layers {r['layers']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
