"""What finding a part that may turn costs: milliseconds a photo against how far it may turn.

Run from the repository root (reads ``../shared/data``; writes nothing)::

    PYTHONPATH=$PWD python bench/inspection_turn_speed.py

The photos are ``bench/inspection_align.py``'s carrier (``--part tray``): a casting on a square
carrier, placed at random on a grey belt of ``--view`` pixels and turned up to 10 degrees either
way. For each largest turn searched (0: position only) it times
``PartAligner(crop, turn=...).locate`` on one thread over every photo (after one untimed call),
(each photo both ways back to back, the best of three: the machine is shared) and gives the
median and 95th percentile milliseconds, the angles the search holds and how far
the angle found lay from the carrier's own turn (the castings lie at their own angles on the
carriers, which pulls it; see ``docs/benchmarks.md``). Peer: the same search trying every angle
(``coarse_to_fine=False``), timed in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspection_align as scene  # noqa: E402  (the bench's own scene, beside this file)


def _photos(root: Path, n: int, view: int, seed: int) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    rng = np.random.default_rng(seed)
    files = sorted(p for p in (root / "train").rglob("*") if p.is_file())[:: max(1, 750 // n)][: n + 1]
    cut = scene._cutout("tray")
    span = (view - scene.PART) // 2

    def place(path: Path, angle: float) -> np.ndarray:
        at = (
            span + int(rng.integers(-span // 2, span // 2 + 1)),
            span + int(rng.integers(-span // 2, span // 2 + 1)),
        )
        photo = scene._belt(rng, False, view)
        scene._put(photo, path, (at[0], at[1]), angle, "tray", cut)
        return np.asarray(photo)

    reference = place(files[0], 0.0)
    angles = [float(rng.uniform(-10, 10)) for _ in files[1:]]
    return reference, [place(f, a) for f, a in zip(files[1:], angles, strict=True)], angles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=scene.DEFAULT_DATA)
    parser.add_argument("--view", type=int, default=640)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--turns", default="0,5,15,25,45")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="Times each photo is found; the best counts.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from aion.solutions.inspection.align import PartAligner
    from aion.solutions.inspection.area import Box

    root = args.data / "casting"
    if not root.exists():
        raise SystemExit(f"{root}: missing")
    reference, photos, truth = _photos(root, args.photos, args.view, args.seed)
    span = (args.view - scene.PART) // 2
    crop = Box(*(v / args.view for v in (span + 10, span + 10, span + 290, span + 290)))
    rows: list[dict[str, Any]] = []
    for turn in (float(t) for t in args.turns.split(",")):
        searches = {"coarse to fine": True, "every angle (peer)": False} if turn else {"coarse to fine": True}
        aligners = {
            k: PartAligner(crop, turn=turn, coarse_to_fine=v).fit(reference) for k, v in searches.items()
        }
        ms: dict[str, list[float]] = {k: [] for k in aligners}
        errors: dict[str, list[float]] = {k: [] for k in aligners}
        for a in aligners.values():
            a.locate(photos[0])
        # paired: each photo found both ways back to back, the best of --repeat (the machine is shared)
        for photo, angle in zip(photos, truth, strict=True):
            for k, a in aligners.items():
                best = float("inf")
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    found = a.locate(photo)
                    best = min(best, 1000 * (time.perf_counter() - t0))
                ms[k].append(best)
                errors[k].append(abs(found.angle - angle))
        for k, a in aligners.items():
            row = {
                "turn": turn,
                "search": k,
                "angles": len(a.angles_),
                "ms_median": round(float(np.median(ms[k])), 2),
                "ms_p95": round(float(np.percentile(ms[k], 95)), 2),
                "angle_error_mean": round(float(np.mean(errors[k])), 2) if turn else None,
                "angle_error_p95": round(float(np.percentile(errors[k], 95)), 2) if turn else None,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| largest turn | search | angles | ms median | ms 95th pct | angle error mean / 95th pct |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        err = f"{r['angle_error_mean']} / {r['angle_error_p95']}" if r["turn"] else "-"
        print(f"| {r['turn']:g} | {r['search']} | {r['angles']} | {r['ms_median']} | {r['ms_p95']} | {err} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
