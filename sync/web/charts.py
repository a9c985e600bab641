"""Server-rendered SVG charts for the dashboard (no JavaScript, no CDN: the admin works offline)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


# Hand-rolled because the need is one small grouped bar chart; a plotting library would add a heavy
# dependency or client-side code for a few dozen rectangles.
@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]
    color: str


def _nice_max(value: int) -> int:
    """A round axis maximum at or above value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def daily_bars_svg(days: Sequence[date], series: Sequence[Series], *, title: str,
                   width: int = 900, height: int = 220) -> SafeString:
    """Grouped bars per day, one colour per series, with a legend, a y axis and a <title> per bar."""
    left, right, top, bottom = 36, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gl-chart" role="img" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, peak // 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    for i, day in enumerate(days):
        x0 = left + slot * i + slot * 0.1
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            h = plot_h * value / peak
            x = x0 + j * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
                f' fill="{s.color}"><title>{escape(s.label)} on {day.isoformat()}: {value}</title></rect>'
            )
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x0 + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
                f' class="tick">{day.strftime("%d %b")}</text>'
            )
    lx = left
    for s in series:
        parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{s.color}"/>')
        total = sum(s.values)
        label = escape(f"{s.label} ({total})")
        parts.append(f'<text x="{lx + 14}" y="15" class="legend">{label}</text>')
        lx += 14 + 8 * len(f"{s.label} ({total})") + 16
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
