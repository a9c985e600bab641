"""Server-rendered SVG charts for the dashboard and the analytics screens (no JavaScript, no CDN: the admin
works offline)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

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


def _head(title: str, width: int, height: int, *, css: str = "gl-chart") -> list[str]:
    """An SVG chart's opening tag and its <title>: the part every chart shares."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def daily_bars_svg(days: Sequence[date], series: Sequence[Series], *, title: str,
                   width: int = 900, height: int = 220) -> SafeString:
    """Grouped bars per day, one colour per series, with a legend, a y axis and a <title> per bar."""
    left, right, top, bottom = 36, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1.0)
    label_every = max(5, -(-len(days) // 15))  # about 15 date labels, however long the range
    parts = _head(title, width, height)
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
        if i % label_every == 0 or i == len(days) - 1:
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

    parts = _head(title, width, height, css="gl-chart gl-coverage-chart")
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


# Colours the analytics screens give their series, in order (colour-blind-safe Okabe–Ito palette).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999")


@dataclass(frozen=True)
class FloatSeries:
    label: str
    values: Sequence[float]
    color: str


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _y_axis(parts: list[str], peak: float, left: int, right: int, top: int, plot_h: float, width: int,
            unit: str = "") -> None:
    for tick in (0, peak / 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{_fmt(tick)}{escape(unit)}</text>")


def _legend(parts: list[str], series, left: int, *, totals: bool = False) -> None:
    lx = left
    for s in series:
        text = f"{s.label} ({_fmt(sum(s.values))})" if totals else s.label
        parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{s.color}"/>')
        parts.append(f'<text x="{lx + 14}" y="15" class="legend">{escape(text)}</text>')
        lx += 14 + 7 * len(text) + 16


def grouped_bars_svg(labels: Sequence[str], series: Sequence[FloatSeries], *, title: str, unit: str = "",
                     width: int = 900, height: int = 240) -> SafeString:
    """Grouped vertical bars over named groups (statuses, categories, age buckets), a <title> per bar."""
    left, right, top, bottom = 48, 8, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((max(s.values, default=0) for s in series), default=0)
    peak = float(_nice_max(int(-(-highest // 1))))
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1.0)
    parts = _head(title, width, height)
    _y_axis(parts, peak, left, right, top, plot_h, width, unit)
    for i, label in enumerate(labels):
        x0 = left + slot * i + slot * 0.1
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar" x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}"'
                f' height="{h:.1f}" fill="{s.color}"><title>{escape(s.label)}, {escape(label)}: '
                f"{_fmt(value)}{escape(unit)}</title></rect>"
            )
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
                     f' class="tick">{escape(short)}</text>')
    _legend(parts, series, left)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def daily_lines_svg(days: Sequence[date], series: Sequence[FloatSeries], *, title: str,
                    width: int = 900, height: int = 260) -> SafeString:
    """One polyline per series over days, with a point (and its <title>) per day when the range is short."""
    left, right, top, bottom = 48, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((max(s.values, default=0) for s in series), default=0)
    peak = float(_nice_max(int(-(-highest // 1))))
    step = plot_w / max(len(days) - 1, 1)
    parts = _head(title, width, height)
    _y_axis(parts, peak, left, right, top, plot_h, width)
    for s in series:
        points = [(left + step * i, top + plot_h - plot_h * v / peak) for i, v in enumerate(s.values)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" fill="none" stroke="{s.color}" stroke-width="2"'
                     f' points="{coords}">'
                     f"<title>{escape(s.label)}</title></polyline>")
        if len(days) <= 90:
            for (x, y), day, v in zip(points, days, s.values, strict=False):
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{s.color}"><title>'
                             f"{escape(s.label)} on {day.isoformat()}: {_fmt(v)}</title></circle>")
    label_every = max(1, -(-len(days) // 12))
    for i, day in enumerate(days):
        if i % label_every == 0 or i == len(days) - 1:
            parts.append(f'<text x="{left + step * i:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
                         f' class="tick">{day.strftime("%d %b")}</text>')
    _legend(parts, series, left)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


@dataclass(frozen=True)
class Span:
    label: str
    start: datetime
    end: datetime
    color: str
    note: str = ""


def timeline_svg(spans: Sequence[Span], *, title: str, width: int = 900, height: int = 90) -> SafeString:
    """Consecutive spans on one time axis (a work order's versions), each labelled and with a <title>."""
    left, right, top, bar_h = 8, 8, 24, 30
    plot_w = width - left - right
    if not spans:
        return mark_safe("".join([*_head(title, width, height), "</svg>"]))  # noqa: S308 - escaped
    t0, t1 = spans[0].start, max(s.end for s in spans)
    total = max((t1 - t0).total_seconds(), 1.0)
    parts = _head(title, width, height)
    for s in spans:
        x = left + plot_w * (s.start - t0).total_seconds() / total
        w = max(plot_w * (s.end - s.start).total_seconds() / total, 1.0)
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top}" width="{w:.1f}" height="{bar_h}"'
                     f' fill="{s.color}">'
                     f"<title>{escape(s.label)}: {s.start:%Y-%m-%d %H:%M} – {s.end:%Y-%m-%d %H:%M}"
                     f"{escape(' · ' + s.note) if s.note else ''}</title></rect>")
        if w > 7 * len(s.label):
            parts.append(f'<text x="{x + 4:.1f}" y="{top + 19}" class="legend">{escape(s.label)}</text>')
    parts.append(f'<text x="{left}" y="{top + bar_h + 16}" class="tick">{t0:%Y-%m-%d}</text>')
    parts.append(f'<text x="{width - right}" y="{top + bar_h + 16}" text-anchor="end" class="tick">'
                 f"{t1:%Y-%m-%d}</text>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
