"""The dashboard's charts as geometry: numbers in, coordinates out. The template draws them as
inline SVG (no script, no outside asset), so a chart is readable with no network and scales
with the screen (a `viewBox`, width 100%)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 480  # the viewBox; drawn at the page's width (a phone scales it by about 3/4)
LEFT, RIGHT, TOP, BOTTOM = 34, 22, 12, 28
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, VALUE_ROOM = 24, 8, 96, 170


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above `value` (at least 1): the y axis top."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: str  # the day


@dataclass(frozen=True)
class Line:
    name: str
    css: str  # the series' class: its colour
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    text: str
    anchor: str = "end"  # SVG text-anchor: where the text hangs from its position


@dataclass(frozen=True)
class TimeSeries:
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT


def time_series(days: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]], height: int = 220) -> TimeSeries:
    """One line per (name, css class, a value per day)."""
    top = nice_ceiling(max((max(values, default=0) for _, _, values in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / max(len(days) - 1, 1)

    def x(index: int) -> float:
        return LEFT + (index * step if len(days) > 1 else plot_w / 2)

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    lines = tuple(
        Line(name, css, tuple(Point(x(i), y(v), v, days[i]) for i, v in enumerate(values)))
        for name, css, values in series
    )
    y_ticks = tuple(Tick(y(v), str(v)) for v in sorted({0, top // 2, top}))
    picks = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    anchors = {0: "start", len(days) - 1: "end"}
    x_ticks = tuple(Tick(x(i), days[i][5:], anchors.get(i, "middle")) for i in picks)  # MM-DD
    return TimeSeries(WIDTH, height, lines, y_ticks, x_ticks)


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str
    value_text: str
    value: int


@dataclass(frozen=True)
class Bars:
    width: int
    height: int
    bars: tuple[Bar, ...]
    x0: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT


def bars(items: Sequence[tuple[str, int, str]]) -> Bars:
    """Horizontal bars for (label, value, value as text), the longest filling the width."""
    longest = max((value for _, value, _ in items), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    drawn = tuple(
        Bar(TOP + n * (BAR_HEIGHT + BAR_GAP), max(room * value / longest, 1.0 if value else 0.0), label, text, value)
        for n, (label, value, text) in enumerate(items)
    )
    height = TOP * 2 + len(items) * (BAR_HEIGHT + BAR_GAP)
    return Bars(WIDTH, height, drawn)
