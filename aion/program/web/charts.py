"""Small SVG charts drawn on the server (no JavaScript, no CDN): bars and a radar."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape


def bar_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], *, title: str
) -> str:
    """Grouped vertical bars; ``series`` is (name, values, colour)."""
    width, height, pad, top = 640, 300, 40, 30
    peak = max([v for _, vals, _ in series for v in vals] + [1.0])
    n = max(len(labels), 1)
    group = (width - 2 * pad) / n
    bar = group * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 60}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
        f'<line x1="{pad}" y1="{top + height - pad}" x2="{width - pad}" y2="{top + height - pad}" stroke="#888"/>',
    ]
    for i, lab in enumerate(labels):
        x0 = pad + i * group + group * 0.1
        for j, (name, vals, colour) in enumerate(series):
            v = vals[i] if i < len(vals) else 0.0
            h = (height - pad - top) * v / peak
            x = x0 + j * bar
            y = top + height - pad - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(lab)} · {escape(name)}: {v:g}</title></rect>"
                f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{v:g}</text>'
            )
        parts.append(
            f'<text x="{pad + i * group + group / 2:.1f}" y="{top + height - pad + 16}" font-size="12" '
            f'text-anchor="middle">{escape(lab)}</text>'
        )
    for j, (name, _, colour) in enumerate(series):
        parts.append(
            f'<rect x="{pad + j * 130}" y="{height + 30}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{pad + j * 130 + 18}" y="{height + 40}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def radar_chart(
    axes: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    top: float = 4.0,
    title: str = "",
) -> str:
    """A radar (spider) chart with one polygon per series, values 0..top."""
    size, cx, cy, r = 420, 210, 200, 140
    n = max(len(axes), 3)

    def point(i: int, v: float) -> tuple[float, float]:
        ang = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * v / top * math.cos(ang), cy + r * v / top * math.sin(ang)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size + 20}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
    ]
    for ring in range(1, int(top) + 1):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(len(axes))))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#ccc"/>')
    for i, name in enumerate(axes):
        x, y = point(i, top * 1.15)
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" text-anchor="middle">{escape(name)}</text>'
        )
    for name, vals, colour in series:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(vals)))
        parts.append(
            f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.25" stroke="{colour}" '
            f'stroke-width="2"><title>{escape(name)}</title></polygon>'
        )
    for j, (name, _, colour) in enumerate(series):
        parts.append(
            f'<rect x="{20 + j * 130}" y="{size}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{38 + j * 130}" y="{size + 11}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
