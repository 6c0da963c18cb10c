"""Server-rendered SVG charts for the admin dashboard (no JavaScript, no CDN).

`line_chart` turns daily series into coordinates; the template
admin/digest/chart.html draws them. Pure: no ORM, no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 400, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 28


@dataclass
class Series:
    label: str
    color: str
    values: list[int]
    bars: bool = False
    points: str = ""
    dots: list[tuple[float, float, int]] = field(default_factory=list)
    rects: list[tuple[float, float, float, float, int]] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str, str]] = field(default_factory=list)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def nice_step(value: int, ticks: int = 4) -> int:
    """A round tick interval (1, 2 or 5 x 10^n) giving about `ticks` intervals up to `value`."""
    raw = max(value, 1) / ticks
    magnitude = 10 ** max(math.floor(math.log10(raw)), 0)
    return next(int(s * magnitude) for s in (1, 2, 5, 10) if s * magnitude >= raw)


def nice_max(value: int) -> int:
    """The top of the y axis: `value` rounded up to a whole tick interval (at least one)."""
    step = nice_step(value)
    return max(math.ceil(value / step), 1) * step


def line_chart(*, title: str, days: Sequence[dt.date], series: Sequence[Series]) -> Chart:
    """Place every series on one shared y axis (0..nice max) over `days`."""
    chart = Chart(title=title, series=list(series))
    top = nice_max(max((max(s.values, default=0) for s in series), default=0))
    inner_w = chart.plot_right - chart.plot_left
    inner_h = chart.plot_bottom - TOP
    step = inner_w / max(len(days), 1)

    def x(i: int) -> float:
        return round(chart.plot_left + step * (i + 0.5), 1)

    def y(v: int) -> float:
        return round(chart.plot_bottom - inner_h * v / top, 1)

    step_y = nice_step(top)
    chart.y_ticks = [(y(v), v) for v in range(0, top + 1, step_y)]
    chart.x_ticks = [
        (x(i), f"{d:%b %-d}", "end" if i == len(days) - 1 else "middle")
        for i, d in enumerate(days)
        if (len(days) - 1 - i) % 7 == 0
    ]
    bar_series = [s for s in series if s.bars]
    bar_w = step * 0.7 / max(len(bar_series), 1)
    for s in series:
        if s.bars:
            offset = bar_series.index(s) * bar_w - step * 0.35
            s.rects = [
                (round(x(i) + offset, 1), y(v), round(bar_w, 1), round(chart.plot_bottom - y(v), 1), v)
                for i, v in enumerate(s.values)
            ]
        else:
            s.dots = [(x(i), y(v), v) for i, v in enumerate(s.values)]
            s.points = " ".join(f"{px},{py}" for px, py, _ in s.dots)
    return chart
