"""Geometry of the statistics page's SVG charts. The template draws them (so every label is escaped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.stats import StatsRow

SERIES = (("received", "登记", "#4a90d9"), ("resolved", "办结", "#07c160"), ("open_overdue", "超期未办", "#e54d42"))


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x centre, text)
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, name)
    rate_points: str = ""  # polyline of the completion rate (0–100 %) across the groups
    plot_top: int = 20
    plot_bottom: int = 0
    plot_left: int = 40


def grouped_bars(rows: list[StatsRow], *, height: int = 260, group_width: int = 64, max_groups: int = 40) -> Chart:
    """Bars of received / resolved / overdue per group, and the completion rate as a line."""
    rows = rows[:max_groups]
    left, top, bottom_pad = 40, 20, 46
    width = max(320, left + group_width * max(1, len(rows)) + 10)
    plot_h = height - top - bottom_pad
    peak = max([1] + [getattr(r, name) for r in rows for name, _, _ in SERIES])
    step = _nice_step(peak)
    top_value = step * -(-peak // step)
    chart = Chart(width, height, plot_top=top, plot_bottom=top + plot_h, plot_left=left,
                  legend=[(colour, name) for _, name, colour in SERIES] + [("#f5a623", "办结率")])
    for v in range(0, top_value + 1, step):
        chart.ticks.append((top + plot_h - plot_h * v / top_value, v))
    bar_w = (group_width - 12) / len(SERIES)
    points = []
    for i, row in enumerate(rows):
        x0 = left + i * group_width + 6
        for j, (name, label, colour) in enumerate(SERIES):
            value = getattr(row, name)
            h = plot_h * value / top_value
            chart.bars.append(Bar(x0 + j * bar_w, top + plot_h - h, bar_w - 1, h, colour, f"{row.label} {label} {value}"))
        centre = x0 + (group_width - 12) / 2
        chart.labels.append((centre, row.label if len(row.label) <= 6 else row.label[:6] + "…"))
        if row.completion_rate is not None:
            points.append(f"{centre:.1f},{top + plot_h - plot_h * row.completion_rate:.1f}")
    chart.rate_points = " ".join(points)
    return chart


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if peak / step <= 5:
            return step
    return 10 ** len(str(peak))
