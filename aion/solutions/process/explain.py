"""Per-alarm explanations: which sensors drove the alarm, ranked, in plain Korean and English."""

from __future__ import annotations

from typing import Any

import numpy as np

from aion.solutions.process.alarms import Alarm


def explain_alarm(
    alarm: Alarm,
    contributions: np.ndarray,
    values: np.ndarray,
    columns: list[str],
    center: np.ndarray,
    scale: np.ndarray,
    top: int = 3,
    variation: np.ndarray | None = None,
) -> Alarm:
    """Fill ``alarm.contributions`` and its messages from per-row contributions (rows sum to 1).

    ``variation``: optional ``(rows, sensors)`` rolling variability as a share of normal, NaN where
    the row was not raised by the flat-line check; a sensor that mostly sat flat during the alarm is
    described as frozen rather than high or low.
    """
    rows = slice(alarm.start, alarm.end)
    share = np.nanmean(contributions[rows], axis=0)
    share = share / max(float(np.nansum(share)), 1e-12)
    z = (np.nanmean(values[rows], axis=0) - center) / scale
    order = np.argsort(-share)
    items: list[dict[str, Any]] = []
    flat = np.full(len(columns), np.nan)
    if variation is not None:
        v = variation[rows]
        seen = np.isfinite(v).mean(axis=0) >= 0.5
        with np.errstate(invalid="ignore"):
            med = np.nanmedian(np.where(np.isfinite(v), v, np.nan), axis=0) if seen.any() else flat
        flat = np.where(seen & (med < 0.1), med, np.nan)
    for j in order[:top]:
        if np.isfinite(flat[j]):
            items.append(_flat_item(columns[j], float(share[j]), float(z[j]), float(flat[j])))
            continue
        direction = "high" if z[j] >= 0 else "low"
        items.append(
            {
                "sensor": columns[j],
                "share": round(float(share[j]), 4),
                "z": round(float(z[j]), 2),
                "direction": direction,
                "text_ko": f"{columns[j]} 값이 평소보다 {'높음' if direction == 'high' else '낮음'} "
                f"({z[j]:+.1f}σ, 기여도 {share[j] * 100:.0f}%)",
                "text_en": f"{columns[j]} was {'higher' if direction == 'high' else 'lower'} than normal "
                f"({z[j]:+.1f} sigma, {share[j] * 100:.0f}% of the deviation)",
            }
        )
    alarm.contributions = items
    when = f" ({alarm.start_time} ~ {alarm.end_time})" if alarm.start_time else ""
    if items:
        alarm.message_ko = f"경보{when}: 주요 원인은 " + ", ".join(i["text_ko"] for i in items) + "."
        alarm.message_en = f"Alarm{when}: mainly " + "; ".join(i["text_en"] for i in items) + "."
    return alarm


def _flat_item(sensor: str, share: float, z: float, ratio: float) -> dict[str, Any]:
    return {
        "sensor": sensor,
        "share": round(share, 4),
        "z": round(z, 2),
        "direction": "flat",
        "text_ko": f"{sensor} 값이 거의 변하지 않음(평소 변동의 {ratio * 100:.1f}%, 센서 고착 의심, "
        f"기여도 {share * 100:.0f}%)",
        "text_en": f"{sensor} barely changed ({ratio * 100:.1f}% of its normal variation; stuck sensor?"
        f" {share * 100:.0f}% of the deviation)",
    }
