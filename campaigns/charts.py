"""Status counts over time as a small server-drawn SVG (no chart library to ship)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from campaigns.selectors import STATUS_GROUPS

COLOURS = {"waiting": "#94a3b8", "calling": "#2563eb", "reached": "#059669", "unreached": "#d97706",
           "stopped": "#dc2626"}


def _grouped(counts: dict[str, int]) -> list[int]:
    return [sum(counts.get(s, 0) for s in statuses) for _, _, statuses in STATUS_GROUPS]


def status_chart_svg(points: Sequence[tuple[datetime, dict[str, int]]], *, width: int = 720, height: int = 220) -> str:
    """Stacked areas of the status groups over time; one point draws a flat band."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 10, 26
    if not points:
        return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="No data yet">'
                '<text x="50%" y="50%" text-anchor="middle" class="chart-empty">No reports yet</text></svg>'
                )
    if len(points) == 1:
        points = [points[0], points[0]]
    series = [_grouped(c) for _, c in points]
    top = max(1, max(sum(s) for s in series))
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (t1 - t0) or 1.0
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, value: float) -> str:
        x = pad_l + plot_w * (points[i][0].timestamp() - t0) / span if t1 > t0 else pad_l + plot_w * i / (len(points) - 1)
        y = pad_t + plot_h * (1 - value / top)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Call jobs by status over time">']
    for frac in (0, 0.5, 1):
        y = pad_t + plot_h * (1 - frac)
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{int(top * frac):,}</text>')
    lower = [0] * len(points)
    for g, (key, label, _) in enumerate(STATUS_GROUPS):
        upper = [lower[i] + series[i][g] for i in range(len(points))]
        if any(series[i][g] for i in range(len(points))):
            path = " ".join(xy(i, upper[i]) for i in range(len(points)))
            back = " ".join(xy(i, lower[i]) for i in reversed(range(len(points))))
            parts.append(f'<polygon points="{path} {back}" fill="{COLOURS[key]}" fill-opacity="0.85">'
                         f'<title>{escape(label)}: {series[-1][g]:,}</title></polygon>')
        lower = upper
    parts.append(f'<text x="{pad_l}" y="{height - 6}" class="axis">{points[0][0]:%H:%M}</text>')
    parts.append(f'<text x="{width - pad_r}" y="{height - 6}" text-anchor="end" class="axis">{points[-1][0]:%H:%M}</text>')
    parts.append("</svg>")
    return "".join(parts)
