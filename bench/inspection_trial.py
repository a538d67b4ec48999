"""A version on trial beside the inspection station: what it costs the station on this PC.

The station scores each photo with the machine's model and hands the same photos to the version
on trial on a thread of its own (``aion/line/trialrun.py``). This bench runs the station as the
line runs it (``InspectionStation.score_images``, one photo a call, from ``models/deployed.json``
in a temporary line folder) over real photos, at a camera's pace, twice: without a trial (the
peer: the station alone) and with one; then once more flat out (no pause between photos), where
the PC cannot keep up with both and the trial must give way. It prints, for each run, the
station's time per photo (median, 95th percentile; the wall time of ``score_images``, what the
line waits for), how many photos the trial scored, how many it had no time for (``busy``), its
own 95th percentile, and whether its calls matched the station's (the trial is the same model
file by default, so every scored photo must agree; ``--trial-resolution 448`` trains a bigger, slower
candidate instead, which a flat-out camera outpaces).

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_trial.py                     # trains a casting model first
    PYTHONPATH=$PWD python bench/inspection_trial.py --model /tmp/casting.aion --photos 300 --every 0.1
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "casting"


def _deployed(folder: Path, model: Path, trial: Path | None) -> None:
    from aion.platform.storage.blobstore import hash_file

    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, models / "prod.aion")
    doc: dict[str, Any] = {
        "machines": {"station": {"kind": "inspection", "file": "prod.aion", "sha256": hash_file(model),
                                 "model": "casting", "version": 1}},
        "trials": {},
    }  # fmt: skip
    if trial is not None:
        shutil.copy(trial, models / "trial.aion")
        doc["trials"]["station"] = {
            "kind": "inspection", "file": "trial.aion", "sha256": hash_file(trial), "model": "casting",
            "version": 2, "version_id": 2,
        }  # fmt: skip
    (folder / "models" / "deployed.json").write_text(json.dumps(doc), encoding="utf-8")


def run(camera: Path, photos: list[Path], model: Path, trial: Path | None, every: float) -> dict[str, Any]:
    from aion.line.station import InspectionStation
    from aion.line.stationspeed import read_speeds
    from aion.line.trialrun import TRIAL_SPEED_FILE, read_calls, trial_file

    with tempfile.TemporaryDirectory(prefix="aion-trial-") as tmp:
        folder = Path(tmp)
        _deployed(folder, model, trial)
        station = InspectionStation({}, {"station": (camera.resolve(), None)}, folder)
        station.refresh()
        times, scores = [], {}
        started = time.perf_counter()
        try:
            for i, p in enumerate(photos):
                due = started + i * every
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                t = time.perf_counter()
                scores[str(p)] = station.score_images([str(p)])[0]
                times.append((time.perf_counter() - t) * 1000)
        finally:
            station.close()
        calls = read_calls(trial_file(folder, "station"))
        scored = [c for c in calls if c.score is not None]
        speed = read_speeds(folder, TRIAL_SPEED_FILE).get("station")
        return {
            "trial": trial is not None,
            "every_s": every,
            "photos": len(photos),
            "station_ms_median": round(statistics.median(times), 1),
            "station_ms_p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
            "trial_scored": len(scored),
            "trial_busy": sum(c.why == "busy" for c in calls),
            "trial_ms_p95": round(speed.ms_p95, 1) if speed else None,
            "agree": sum((c.score >= 0.5) == (scores[c.ref] >= 0.5) for c in scored if c.score is not None),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--model", type=Path, help="the station's model (trained on casting now, and kept there, if missing)"
    )
    ap.add_argument("--trial-model", type=Path, help="the version on trial (default: the same file)")
    ap.add_argument(
        "--trial-resolution",
        type=int,
        help="instead: a version trained now at this resolution (a bigger candidate)",
    )
    ap.add_argument("--photos", type=int, default=200, help="photos: casting's 200 test photos, cycled")
    ap.add_argument("--every", type=float, default=0.2, help="the camera's pace, seconds a photo")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    a = ap.parse_args()

    from aion.solutions.inspection import TrainConfig, train
    from aion.solutions.inspection.speed import cpu_name

    with tempfile.TemporaryDirectory(prefix="aion-trial-bench-") as tmp:
        model = a.model or Path(tmp) / "casting.aion"
        if not model.exists():
            t0 = time.perf_counter()
            train(DATA, TrainConfig(threads=2)).save(model)
            print(f"trained the station's model on {DATA} in {time.perf_counter() - t0:.1f} s", flush=True)
        camera = Path(tmp) / "camera"
        camera.mkdir()
        sources = sorted((DATA / "test" / "good").iterdir()) + sorted((DATA / "test" / "defect").iterdir())
        photos = []
        for i in range(a.photos):  # good and defect photos in turn
            src = sources[(i // 2 + (i % 2) * len(sources) // 2) % len(sources)]
            photos.append(camera / f"{i:05d}{src.suffix}")
            shutil.copy(src, photos[-1])
        trial = a.trial_model or model
        if a.trial_resolution and not (a.trial_model and a.trial_model.exists()):
            t0 = time.perf_counter()
            trial = a.trial_model or Path(tmp) / "big.aion"
            train(DATA, TrainConfig(threads=2, resolution=a.trial_resolution)).save(trial)
            print(
                f"trained the trial's version at {a.trial_resolution} px in {time.perf_counter() - t0:.1f} s"
            )
        print(f"CPU: {cpu_name()}; {len(photos)} photos of casting", flush=True)
        results = []
        for label, t, every in [
            ("station alone (peer)", None, a.every),
            ("station + trial", trial, a.every),
            ("station + trial, flat out", trial, 0.0),
        ]:
            r = run(camera, photos, model, t, every)
            results.append({"run": label, **r})
            print(
                f"{label:28s} pace {every:.2f} s: station median {r['station_ms_median']} ms, "
                f"p95 {r['station_ms_p95']} ms; trial scored {r['trial_scored']}, busy {r['trial_busy']}, "
                f"its p95 {r['trial_ms_p95']} ms, agreeing {r['agree']}/{r['trial_scored']}",
                flush=True,
            )
        if a.json:
            a.json.write_text(json.dumps({"cpu": cpu_name(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
