"""Line pipeline benchmark: ``aion line bench`` against the local Mosquitto and the embedded broker.

Prints, per broker, one JSON object with messages_per_second, readings_per_second, p50_ms/p99_ms
(publish to stored and scored, at the paced rate), lost, duplicated and
broker_only_messages_per_second (a bare subscriber on the same broker, same run), then how far
each figure is from the issue's targets, with the machine's load so loaded runs are labelled.

    python bench/line_bench.py [--messages 50000] [--latency-rate 5000] [--brokers mosquitto,embedded]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import time

from aion.line.bench import run_bench

TARGET_MPS = 20_000
TARGET_P99_MS = 100.0


def mosquitto_up(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--latency-rate", type=float, default=5000.0)
    ap.add_argument("--latency-messages", type=int, default=25_000)
    ap.add_argument("--brokers", default="mosquitto,embedded")
    ap.add_argument(
        "--low-rate",
        type=float,
        default=500.0,
        help="also p50/p99 at this rate (0: skip), for loaded machines",
    )
    args = ap.parse_args()
    conditions = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "messages": args.messages,
        "readings_per_message": 8,
    }
    print(json.dumps({"conditions": conditions}))
    for name in args.brokers.split(","):
        if name == "mosquitto" and not mosquitto_up():
            print(json.dumps({"broker": "mosquitto", "skipped": "nothing listens on 127.0.0.1:1883"}))
            continue
        url = "mqtt://127.0.0.1:1883" if name == "mosquitto" else ""
        started = time.time()
        r = run_bench(url, args.messages, args.latency_rate, latency_messages=args.latency_messages)
        if args.low_rate > 0:
            import tempfile
            from pathlib import Path

            from aion.line.bench import pipeline_run

            with tempfile.TemporaryDirectory() as tmp:
                if url:
                    low = pipeline_run(url, int(args.low_rate * 10), args.low_rate, 120, Path(tmp))
                else:
                    from aion.line.broker import EmbeddedBroker

                    with EmbeddedBroker() as emb:
                        low = pipeline_run(emb.url, int(args.low_rate * 10), args.low_rate, 120, Path(tmp))
            r[f"p50_ms_at_{args.low_rate:g}"] = round(low["p50_ms"], 2)
            r[f"p99_ms_at_{args.low_rate:g}"] = round(low["p99_ms"], 2)
            r["lost"] += low["lost"]
            r["duplicated"] += low["duplicated"]
        r["wall_s"] = round(time.time() - started, 1)
        r["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        bare = r["broker_only_messages_per_second"] or 1.0
        r["targets"] = {
            "messages_per_second_vs_20000": round(r["messages_per_second"] / TARGET_MPS, 3),
            "messages_per_second_vs_half_bare_broker": round(r["messages_per_second"] / (bare / 2), 3),
            "p99_ms_vs_100": round(r["p99_ms"] / TARGET_P99_MS, 3),
            "met": r["messages_per_second"] >= TARGET_MPS
            and r["messages_per_second"] >= bare / 2
            and r["p99_ms"] <= TARGET_P99_MS
            and r["lost"] == 0
            and r["duplicated"] == 0,
        }
        print(json.dumps({"broker": name, **r}))


if __name__ == "__main__":
    main()
