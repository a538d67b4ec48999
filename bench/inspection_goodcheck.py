"""Defective parts among the good images: does training's check of the good images find them?

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_goodcheck.py
    PYTHONPATH=$PWD python bench/inspection_goodcheck.py --sets casting --seeds 0 --share 0.02

For each set and seed it draws ``--share`` of the number of good training images from the test
split's defect images (spread over the defect kinds) and puts them among the good training images,
as a factory's "good" folder with a few bad parts in it. Then, at the engine's defaults:

* **contaminated**: trained on that folder; how many planted images the check lists
  (``train_report_.unusual_good``: above the threshold, or the top 5%, at most 20), their ranks
  among all good images, how many score above the threshold; the accuracy on the test split less
  the planted images; the training time;
* **no check** (the peer): the same training with ``check_good=False`` (only the held-back images
  are checked): the time the check costs;
* **after the check**: the planted images the list named taken out (what a user who looked at
  the list would do), trained again, the same accuracy;
* **clean**: trained on the good images alone, the same accuracy.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _plant(ds: Any, n: int, seed: int) -> list[Any]:
    """``n`` defect images of the test split, kinds in turn, relabelled good."""
    rng = np.random.default_rng(seed)
    bad = [it for it in ds.test if it.label == 1]
    kinds = sorted({it.kind for it in bad})
    pools = {k: [it for it in bad if it.kind == k] for k in kinds}
    picked: list[Any] = []
    while len(picked) < n:
        pool = pools[kinds[len(picked) % len(kinds)]]
        picked.append(pool.pop(int(rng.integers(len(pool)))))
    return [replace(it, label=0) for it in picked]


def _train(ds: Any, items: list[Any], threads: int, **cfg: Any) -> tuple[Any, float]:
    from aion.solutions.inspection import TrainConfig, train

    t0 = time.perf_counter()
    model = train(replace(ds, train=items), TrainConfig(threads=threads, **cfg))
    return model, time.perf_counter() - t0


def _accuracy(model: Any, ds: Any, test: list[Any]) -> dict[str, Any]:
    from aion.solutions.inspection import evaluate

    rep = evaluate(model, ds, items=test)
    return {
        "image_auroc": rep.image_auroc,
        "pixel_auroc": rep.pixel_auroc,
        "frr": rep.false_reject_rate,
        "escape": rep.escape_rate,
        "threshold": round(model.meta.threshold, 4),
    }


def run(ds: Any, share: float, seed: int, threads: int) -> dict[str, Any]:
    n = max(1, round(share * len(ds.train)))
    planted = _plant(ds, n, seed)
    keys = {it.key for it in planted}
    test = [it for it in ds.test if it.key not in keys]
    dirty = list(ds.train) + planted
    model, seconds = _train(ds, dirty, threads)
    listed = model.train_report_.unusual_good
    names = {it.name for it in planted}
    found = [Path(u.name).name for u in listed if Path(u.name).name in names]
    ranks = [i + 1 for i, u in enumerate(listed) if Path(u.name).name in names]
    _, seconds_off = _train(ds, dirty, threads, check_good=False)
    fixed, _ = _train(ds, [it for it in dirty if it.name not in set(found)], threads)
    clean, _ = _train(ds, list(ds.train), threads)
    return {
        "seed": seed,
        "planted": n,
        "listed": len(listed),
        "found": len(found),
        "ranks": ranks,
        "above_threshold": sum(
            1 for u in listed if Path(u.name).name in names and u.score > model.meta.threshold
        ),
        "train_seconds": round(seconds, 1),
        # the check's own step, timed inside training (the first training of a run also pays for
        # the process's warm-up, so the two totals alone overstate it)
        "check_seconds": model.train_report_.seconds.get("check"),
        "train_seconds_no_check": round(seconds_off, 1),
        "contaminated": _accuracy(model, ds, test),
        "after_check": _accuracy(fixed, ds, test),
        "clean": _accuracy(clean, ds, test),
    }


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", nargs="+", default=["casting", "magnetic_tile"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--share", type=float, default=0.01, help="planted defects, a share of the good images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch

    from aion.solutions.inspection import load_dataset

    torch.set_num_threads(args.threads)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in args.sets:
        ds = load_dataset(args.data / name)
        out[name] = []
        for seed in args.seeds:
            r = run(ds, args.share, seed, args.threads)
            out[name].append(r)
            print(
                f"\n== {name} seed {seed}: {r['planted']} defect images among {len(ds.train)} good; "
                f"the check lists {r['listed']}, {r['found']} of them planted (ranks {r['ranks']}; "
                f"{r['above_threshold']} above the threshold)\n"
                f"   training {r['train_seconds']} s with the check (its step {r['check_seconds']} s), "
                f"{r['train_seconds_no_check']} s without"
            )
            print(f"   {'model':<14} {'image AUROC':>11} {'pixel AUROC':>11} {'test FRR':>9} {'escape':>7}")
            for key in ("contaminated", "after_check", "clean"):
                a = r[key]
                print(
                    f"   {key:<14} {_fmt(a['image_auroc']):>11} {_fmt(a['pixel_auroc']):>11} "
                    f"{_fmt(a['frr']):>9} {_fmt(a['escape']):>7}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
