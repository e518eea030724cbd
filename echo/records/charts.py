"""Bar-chart geometry for charts drawn as SVG by the server: no script, no network."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar, in SVG user units (y grows downwards); ``title`` is its tooltip."""

    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class BarChart:
    """Bars over a baseline at ``plot_bottom``, scaled so ``top_value`` reaches
    ``plot_top``; ``first_label`` and ``last_label`` name the ends of the axis."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    top_value: str
    first_label: str
    last_label: str
    bars: list[Bar]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value``: a round axis top."""
    if value <= 0:
        return 1.0
    decade = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * decade >= value * (1 - 1e-12):
            return step * decade
    raise AssertionError("unreachable: 10 × decade exceeds value")


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    format_value: Callable[[float], str],
    unit: str,
    width: int = 360,
    height: int = 120,
) -> BarChart:
    """One bar per value, labelled ``labels`` (the same length), on a round scale;
    the axis shows its round top, each bar's tooltip its value and ``unit``.

    Bars fill their slot but for a 1-unit gap; a nonzero value gets at least one
    unit of height, so a day with one short session still shows.
    """
    if len(values) != len(labels):
        raise ValueError(f"{len(values)} values but {len(labels)} labels")
    left, right, top, bottom = 40.0, width - 4.0, 8.0, height - 18.0
    top_value = nice_ceiling(max(values, default=0.0))
    slot = (right - left) / max(len(values), 1)
    gap = 1.0 if slot > 2 else 0.0
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        bar_height = (bottom - top) * value / top_value
        if value > 0:
            bar_height = max(bar_height, 1.0)
        bars.append(
            Bar(
                x=left + index * slot + gap / 2,
                y=bottom - bar_height,
                width=slot - gap,
                height=bar_height,
                title=f"{label}: {format_value(value)} {unit}",
            )
        )
    return BarChart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        top_value=f"{top_value:,.0f}" if top_value >= 1 else f"{top_value:g}",
        first_label=labels[0] if labels else "",
        last_label=labels[-1] if labels else "",
        bars=bars,
    )
