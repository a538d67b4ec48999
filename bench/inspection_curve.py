"""How many good images does a model need? Accuracy against the number of good training images.

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_curve.py
    PYTHONPATH=$PWD python bench/inspection_curve.py --sets casting --sizes 25 100 --seeds 0

For each set and each size ``n`` it draws ``n`` of the set's good training images (``--seeds``
draws; the whole set once), trains our engine at its defaults (``TrainConfig(threads=...)``,
threshold at the 1% target false-reject rate, no labelled defects) and scores the whole test split
less the test good images that are copies of *any* training image (by content, so every size is
measured on the same images). It prints image AUROC, pixel AUROC where masks exist, the
false-reject rate on the test's good images and the escape rate at the model's threshold, the
false-reject floor ``1 / (held-back + 1)`` (what the threshold can promise, ``threshold.frr_floor``)
and the training time. The peer is the same engine on every good image (the last row).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _run(ds: Any, items: list[Any], n: int, seed: int, threads: int) -> dict[str, Any]:
    from aion.solutions.inspection import TrainConfig, evaluate, train

    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(ds.train), n, replace=False)) if n < len(ds.train) else range(n)
    sub = replace(ds, train=[ds.train[i] for i in pick])
    t0 = time.perf_counter()
    model = train(sub, TrainConfig(threads=threads, seed=seed))
    seconds = time.perf_counter() - t0
    rep = evaluate(model, ds, items=items)
    tr = model.train_report_
    return {
        "n": n,
        "seed": seed,
        "image_auroc": rep.image_auroc,
        "pixel_auroc": rep.pixel_auroc,
        "frr": rep.false_reject_rate,
        "escape": rep.escape_rate,
        "held_back": tr.n_calibration_images,
        "frr_floor": 1.0 / (tr.n_calibration_images + 1),
        "train_seconds": round(seconds, 1),
    }


def _test_items(ds: Any) -> list[Any]:
    """The test split less good images that are copies of any training image."""
    from aion.solutions.inspection.data import fingerprint

    train_fps = {fingerprint(it.file_bytes()) for it in ds.train}
    return [it for it in ds.test if it.label == 1 or fingerprint(it.file_bytes()) not in train_fps]


def _mean(rows: list[dict[str, Any]], key: str) -> str:
    vals = [r[key] for r in rows if r[key] is not None]
    if not vals:
        return "-"
    m = statistics.fmean(vals)
    return f"{m:.4f}" if len(vals) == 1 else f"{m:.4f} ({min(vals):.3f}-{max(vals):.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", nargs="+", default=["casting", "magnetic_tile"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[10, 25, 50, 100, 200, 400])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write every run's figures to this file")
    args = ap.parse_args()

    import torch

    from aion.solutions.inspection import load_dataset

    torch.set_num_threads(args.threads)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in args.sets:
        ds = load_dataset(args.data / name)
        items = _test_items(ds)
        n_good = sum(1 for it in items if it.label == 0)
        print(f"\n== {name}: {len(ds.train)} good training images; test {len(items)} ({n_good} good)")
        print(
            f"{'good images':>11}  {'image AUROC':<22} {'pixel AUROC':<22} {'test FRR':<22} "
            f"{'escape':<22} {'FRR floor':>9} {'train s':>7}"
        )
        runs: list[dict[str, Any]] = []
        sizes = [n for n in args.sizes if n < len(ds.train)] + [len(ds.train)]
        for n in sizes:
            rows = [_run(ds, items, n, s, args.threads) for s in (args.seeds if n < len(ds.train) else [0])]
            runs += rows
            print(
                f"{n:>11}  {_mean(rows, 'image_auroc'):<22} {_mean(rows, 'pixel_auroc'):<22} "
                f"{_mean(rows, 'frr'):<22} {_mean(rows, 'escape'):<22} {rows[0]['frr_floor']:>9.4f} "
                f"{statistics.fmean(r['train_seconds'] for r in rows):>7.1f}",
                flush=True,
            )
        out[name] = runs
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
