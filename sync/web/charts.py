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


LINE_COLORS = ("#417690", "#2e7d32", "#b26a00")


def coverage_line_svg(days: Sequence[date], series: dict[str, Sequence[float | None]], *, target: float,
                      title: str, width: int = 900, height: int = 220) -> SafeString:
    """Percentages per day (0–100) as one line per series, a dot per day, and a dashed target line.
    A None value (nothing to cover that day) leaves a gap."""
    left, right, top, bottom = 36, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(days) - 1, 1)

    def y(value: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(value, 100.0)) / 100

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gl-chart gl-coverage-chart" role="img"'
        f' viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet"'
        f' aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 50, 100):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"'
                     f' class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end"'
                     f' class="tick">{tick}%</text>')
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}"'
        f' class="gl-target" stroke="#ba2121" stroke-dasharray="6 4" stroke-width="1.5">'
        f'<title>target {target:g} %</title></line>'
        f'<text x="{width - right - 4}" y="{y(target) - 4:.1f}" text-anchor="end"'
        f' class="tick gl-target-label" fill="#ba2121">target {target:g} %</text>'
    )
    lx = left
    for (label, values), color in zip(series.items(), LINE_COLORS * 3, strict=False):
        runs: list[list[str]] = [[]]
        for i, (day, value) in enumerate(zip(days, values, strict=False)):
            if value is None:
                runs.append([])
                continue
            x = left + step * i if len(days) > 1 else left + plot_w / 2
            runs[-1].append(f"{x:.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="2.5" fill="{color}">'
                         f"<title>{escape(label)} on {day.isoformat()}: {value:g} %</title></circle>")
        for run in runs:
            if len(run) > 1:
                points = " ".join(run)
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        latest = next((v for v in reversed(values) if v is not None), None)
        text = f"{label} ({latest:g} %)" if latest is not None else label
        parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{color}"/>'
                     f'<text x="{lx + 14}" y="15" class="legend">{escape(text)}</text>')
        lx += 14 + 7 * len(text) + 16
    for i, day in enumerate(days):
        if i % max(len(days) // 6, 1) == 0 or i == len(days) - 1:
            x = left + step * i if len(days) > 1 else left + plot_w / 2
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
                         f' class="tick">{day.strftime("%d %b")}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
