"""Chart geometry for the dashboard's inline SVG: pure functions from labelled values to
boxes and points (no Flask, no database). Amounts stay Decimal; coordinates are Decimal
rounded to a tenth of a pixel, so the same numbers always draw the same picture."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: Decimal


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int  # the plot area starts here (room for the axis labels)
    bottom: Decimal  # y of the base line
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    points: str = ""  # for a line chart: "x,y x,y …" for <polyline points>


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 × 10^n that is at least `value` (1 for nothing)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    raise AssertionError(value)


def _px(value: Decimal) -> Decimal:
    return value.quantize(TENTH)


def _scale(values: Sequence[Decimal], ticks: int) -> tuple[Decimal, list[Tick]]:
    top = nice_ceiling(max(values, default=Decimal(0)))
    return top, [Tick(top * n / ticks, Decimal(0)) for n in range(ticks + 1)]


def bar_chart(values: Sequence[tuple[str, Decimal]], *, width: int = 520, height: int = 220,
              left: int = 70, top_margin: int = 10, bottom_margin: int = 28,
              ticks: int = 4, gap: Decimal = Decimal("0.25")) -> Chart:
    """Vertical bars, one per (label, value); negative values draw as zero height."""
    plot_w = Decimal(width - left)
    plot_h = Decimal(height - top_margin - bottom_margin)
    base = Decimal(height - bottom_margin)
    top, raw_ticks = _scale([v for _, v in values], ticks)
    slot = plot_w / max(len(values), 1)
    bar_w = slot * (1 - gap)
    bars = []
    for n, (label, value) in enumerate(values):
        h = plot_h * max(value, Decimal(0)) / top
        x = left + slot * n + (slot - bar_w) / 2
        bars.append(Bar(label, value, _px(x), _px(base - h), _px(bar_w), _px(h)))
    marks = tuple(Tick(t.value, _px(base - plot_h * t.value / top)) for t in raw_ticks)
    return Chart(width, height, left, base, tuple(bars), marks)


def line_chart(values: Sequence[tuple[str, Decimal]], *, width: int = 520, height: int = 220,
               left: int = 70, top_margin: int = 10, bottom_margin: int = 28,
               ticks: int = 4) -> Chart:
    """A line through one point per (label, value), spread evenly; the bars carry each
    point's position (x, y) with zero size, for markers and labels."""
    plot_w = Decimal(width - left - 10)
    plot_h = Decimal(height - top_margin - bottom_margin)
    base = Decimal(height - bottom_margin)
    top, raw_ticks = _scale([v for _, v in values], ticks)
    step = plot_w / max(len(values) - 1, 1)
    bars = []
    for n, (label, value) in enumerate(values):
        x = left + step * n
        y = base - plot_h * max(value, Decimal(0)) / top
        bars.append(Bar(label, value, _px(x), _px(y), Decimal(0), Decimal(0)))
    points = " ".join(f"{b.x},{b.y}" for b in bars)
    marks = tuple(Tick(t.value, _px(base - plot_h * t.value / top)) for t in raw_ticks)
    return Chart(width, height, left, base, tuple(bars), marks, points)


def compact(value: Decimal) -> str:
    """An axis label: 1500 → '1.5k', 2000000 → '2M' (locale-free, short)."""
    for limit, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
        if abs(value) >= limit:
            scaled = (value / limit).quantize(TENTH, rounding=ROUND_CEILING).normalize()
            return f"{scaled:f}{suffix}"
    return f"{value.normalize():f}"
