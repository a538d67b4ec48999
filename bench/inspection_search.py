"""Visual inspection: the nearest-neighbour search as the memory bank grows, beside faiss.

The issue asks for a search "that stays fast as the memory bank grows (faiss-cpu or equal)". This
bench takes real patch features (a model trained on ``--data``, default magnetic_tile, or
``--model``): the bank rows are drawn at random from the good training images' patches, at each of
``--sizes`` rows (and the model's own coreset bank), and the queries are every patch of
``--queries`` test images (1,024 per image at 256 x 256). For each bank it times, on
``--threads`` threads, the median of ``--repeats`` searches of all queries:

* **ours**: the inverted file the engine ships (``knn.build_ivf``: k-means lists, about a
  twentieth probed, scanned in the principal subspace by ONNX Runtime, the row found measured in
  every dimension), built as training builds it and opened as a model opens it;
* **faiss flat**: ``IndexFlatL2``, exact brute force (the answer the others are checked against);
* **faiss IVF**: ``IndexIVFFlat`` with the same number of lists and probes as ours.

Each approximate search reports its recall (the share of queries whose distance is the exact
nearest one's, to 1e-4) and how much farther than the exact neighbour its answers are on average.
The engine's search of a model is coarse to fine (a quarter of the patches and the ones around
anything suspicious), so a scored image asks for fewer than 1,024 queries; the times here are per
1,024 queries, the full grid.

Run from the repository root (reads ``../shared/data``; writes nothing into the repository)::

    PYTHONPATH=$PWD python bench/inspection_search.py
    PYTHONPATH=$PWD python bench/inspection_search.py --model /tmp/mt.aion --sizes 5000 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "magnetic_tile"


def features(model: Any, items: list[Any], batch: int = 16) -> np.ndarray:
    """Patch features ``(N * patches, D)`` of the images ``items`` by the model's graph."""
    from aion.solutions.inspection.images import decode_image

    parts = []
    for s in range(0, len(items), batch):
        images = [decode_image(it.file_bytes(), it.name) for it in items[s : s + batch]]
        f = model.patch_features(model.batch(images))
        parts.append(f.reshape(-1, f.shape[-1]))
    return np.concatenate(parts)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """The last result of ``fn`` and the median of its wall times in seconds (after one warm-up)."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def quality(found: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    """Recall (the exact neighbour's distance found, to 1e-4) and mean excess distance in percent."""
    tol = 1e-4 * np.maximum(exact, 1.0)
    excess = (found - exact) / np.maximum(exact, 1e-6)
    return {
        "recall": round(float(np.mean(np.abs(found - exact) <= tol)), 4),
        "excess_pct": round(100.0 * float(excess.mean()), 3),
    }


def measure(bank: np.ndarray, queries: np.ndarray, threads: int, repeats: int) -> dict[str, Any]:
    import faiss

    from aion.solutions.inspection.knn import NearestNeighbour, build_ivf

    faiss.omp_set_num_threads(threads)
    per_image = 1024 / len(queries) * 1000.0  # seconds for all queries -> ms per 1,024
    row: dict[str, Any] = {"rows": len(bank), "dim": int(bank.shape[1])}

    flat = faiss.IndexFlatL2(bank.shape[1])
    flat.add(bank)
    d2, t = timed(lambda: flat.search(queries, 1)[0][:, 0], repeats)
    exact = np.sqrt(np.maximum(d2, 0.0))
    row["faiss_flat_ms"] = round(t * per_image, 2)

    t0 = time.perf_counter()
    order, ivf = build_ivf(bank)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nn = NearestNeighbour(bank[order], threads=threads, ivf=ivf)
    open_s = time.perf_counter() - t0
    found, t = timed(lambda: nn.search(queries), repeats)
    nn.close()
    row.update(
        lists=len(ivf.sizes),
        probes=ivf.nprobe,
        scan_dim=ivf.dim,
        passes=nn.passes,
        ours_build_s=round(build_s, 2),
        ours_open_s=round(open_s, 2),
        ours_ms=round(t * per_image, 2),
        ours=quality(found, exact),
    )

    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatL2(bank.shape[1])
    index = faiss.IndexIVFFlat(quantizer, bank.shape[1], len(ivf.sizes))
    index.train(bank)
    index.add(bank)
    index.nprobe = ivf.nprobe
    row["faiss_ivf_build_s"] = round(time.perf_counter() - t0, 2)
    d2, t = timed(lambda: index.search(queries, 1)[0][:, 0], repeats)
    row["faiss_ivf_ms"] = round(t * per_image, 2)
    # a query whose probed lists are all empty gets no answer (distance inf in faiss' float max)
    row["faiss_ivf"] = quality(np.sqrt(np.clip(d2, 0.0, 3e38)), exact)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="an MVTec-layout set")
    ap.add_argument("--model", type=Path, help="a trained .aion model (else one is trained on --data)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 80000, 320000])
    ap.add_argument("--queries", type=int, default=16, help="test images whose patches are the queries")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write all figures to this file")
    a = ap.parse_args()

    from aion.solutions.inspection import InspectionModel, TrainConfig, load_dataset, train

    ds = load_dataset(a.data)
    if a.model:
        model = InspectionModel.load(a.model, threads=a.threads)
    else:
        t0 = time.perf_counter()
        model = train(ds, TrainConfig(threads=a.threads))
        print(f"model trained on {a.data.name} in {time.perf_counter() - t0:.1f} s", flush=True)
    rng = np.random.default_rng(0)
    test = [ds.test[i] for i in sorted(rng.choice(len(ds.test), min(a.queries, len(ds.test)), replace=False))]
    queries = np.ascontiguousarray(features(model, test), dtype=np.float32)
    t0 = time.perf_counter()
    pool = features(model, ds.train)
    print(
        f"features: {len(pool):,} training patches, {len(queries):,} queries from {len(test)} test images "
        f"({pool.shape[1]} dims) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    banks = [("model's coreset bank", np.ascontiguousarray(model.memory_bank_, dtype=np.float32))]
    for n in a.sizes:
        if n > len(pool):
            print(f"skipped {n:,} rows: only {len(pool):,} training patches", flush=True)
            continue
        banks.append((f"random {n:,}", np.ascontiguousarray(pool[rng.choice(len(pool), n, replace=False)])))
    del pool
    print(
        "bank | rows | lists (probed) | ours ms | recall | excess % | faiss IVF ms | recall | excess % "
        "| faiss flat ms | ours build + open s | faiss IVF build s",
        flush=True,
    )
    rows = []
    for name, bank in banks:
        r = measure(bank, queries, a.threads, a.repeats)
        r["bank"] = name
        rows.append(r)
        print(
            f"{name} | {r['rows']:,} | {r['lists']} ({r['probes']}) | {r['ours_ms']} | {r['ours']['recall']} | "
            f"{r['ours']['excess_pct']} | {r['faiss_ivf_ms']} | {r['faiss_ivf']['recall']} | "
            f"{r['faiss_ivf']['excess_pct']} | {r['faiss_flat_ms']} | "
            f"{r['ours_build_s']} + {r['ours_open_s']} | {r['faiss_ivf_build_s']}",
            flush=True,
        )
    print("(ms per 1,024 queries, one image's full patch grid; wall time, median of the repeats)")
    if a.json:
        a.json.write_text(json.dumps({"threads": a.threads, "queries": len(queries), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
