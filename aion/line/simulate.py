"""A simulated line: a SKAB-like water pump (8 sensors) with injected faults, over MQTT.

The signals follow the Skoltech Anomaly Benchmark test rig: two vibration RMS values, motor
current, pressure, temperatures, voltage and flow. Faults alternate between cavitation
(pressure and flow drop, vibration rises) and overheating (temperatures ramp up), so the
rules and models of the demo line have something to find.

>>> rows = list(pump_rows(3, start=0.0, rate_hz=1.0, seed=1))
>>> len(rows), sorted(rows[0][1])[:3], rows[1][0]
(3, ['accel1_rms', 'accel2_rms', 'current'], 1.0)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator

import numpy as np

TAGS = (
    "accel1_rms",
    "accel2_rms",
    "current",
    "pressure",
    "temperature",
    "thermocouple",
    "voltage",
    "flow_rms",
)
BASE = {
    "accel1_rms": 0.21,
    "accel2_rms": 0.27,
    "current": 2.4,
    "pressure": 0.25,
    "temperature": 89.0,
    "thermocouple": 28.0,
    "voltage": 230.0,
    "flow_rms": 32.0,
}
NOISE = {
    "accel1_rms": 0.01,
    "accel2_rms": 0.012,
    "current": 0.05,
    "pressure": 0.01,
    "temperature": 0.2,
    "thermocouple": 0.15,
    "voltage": 0.8,
    "flow_rms": 0.4,
}


def fault_at(t: float, period_s: float = 120.0, length_s: float = 30.0) -> tuple[str, float]:
    """The fault active at ``t`` seconds into the run and how far into it (0..1); ``("", 0)`` when none."""
    k, phase = divmod(t, period_s)
    start = period_s - length_s
    if phase < start:
        return "", 0.0
    return ("cavitation" if int(k) % 2 == 0 else "overheating"), (phase - start) / length_s


def pump_rows(
    n: int, start: float, rate_hz: float = 1.0, seed: int = 0, period_s: float = 120.0, length_s: float = 30.0
) -> Iterator[tuple[float, dict[str, float], str]]:
    """``n`` rows ``(ts, values, fault)`` from ``start`` at ``rate_hz``."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        t = i / rate_hz
        fault, x = fault_at(t, period_s, length_s)
        v = {k: BASE[k] + NOISE[k] * float(rng.standard_normal()) for k in TAGS}
        v["current"] += 0.05 * math.sin(t / 7.0)
        if fault == "cavitation":
            ramp = min(1.0, x * 4)
            v["pressure"] -= 0.18 * ramp
            v["flow_rms"] -= 9.0 * ramp
            v["accel1_rms"] += 0.2 * ramp
            v["accel2_rms"] += 0.22 * ramp
        elif fault == "overheating":
            v["temperature"] += 12.0 * x
            v["thermocouple"] += 10.0 * x
            v["current"] += 0.3 * x
        yield start + t, v, fault


def publish_pump(
    url: str,
    line: str = "demo",
    machines: tuple[str, ...] = ("pump1",),
    rate_hz: float = 1.0,
    duration_s: float = 0.0,
    seed: int = 0,
    qos: int = 1,
    progress: Callable[[str, float], None] | None = None,
    stop: Callable[[], bool] | None = None,
    period_s: float = 120.0,
    length_s: float = 30.0,
) -> int:
    """Publish the simulated pumps to ``aion/<line>/<machine>/telemetry``; ``duration_s`` 0 runs until ``stop``."""  # noqa: E501
    import paho.mqtt.client as mqtt

    from aion.line.connectors.mqtt import parse_mqtt_url

    host, port = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"aion-sim-{line}", clean_session=False)
    client.reconnect_delay_set(1, 2)
    client.connect(host, port, keepalive=15)
    client.loop_start()
    start = time.time()
    n = int(duration_s * rate_hz) if duration_s > 0 else 1 << 40
    sent = 0
    gens = [pump_rows(n, start, rate_hz, seed + j, period_s, length_s) for j in range(len(machines))]
    try:
        for i in range(n):
            if stop is not None and stop():
                break
            for m, gen in zip(machines, gens, strict=True):
                ts, values, fault = next(gen)
                body = {"ts": ts, "seq": i, "values": values, "fault": fault}
                client.publish(f"aion/{line}/{m}/telemetry", json.dumps(body), qos=qos)
                sent += 1
            if progress is not None and duration_s > 0:
                progress("simulate", (i + 1) / n)
            time.sleep(max(0.0, start + (i + 1) / rate_hz - time.time()))
    finally:
        client.loop_stop()
        client.disconnect()
    return sent
