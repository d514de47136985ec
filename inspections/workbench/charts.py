"""Charts of the workbench, drawn on the server as inline SVG: readable without JavaScript.

Each chart is a list of horizontal bars, one per area, with its label and its
figure written beside it, so that the numbers are there as text whatever the
picture; the SVG carries a ``<title>`` for screen readers and scales with the
page (a ``viewBox``), down to a phone's width.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 520
LABEL_WIDTH = 110
VALUE_WIDTH = 130
ROW_HEIGHT = 24
BAR_HEIGHT = 16
FONT_SIZE = 14
COLOURS = {"primary": "#417690", "alert": "#ba2121", "muted": "#c9d9e3"}


@dataclass(frozen=True)
class Bar:
    """One row: ``value`` (and a highlighted part of it, ``part``) against the chart's scale."""

    label: str
    value: float
    text: str
    part: float = 0.0
    href: str = ""


def bar_chart(*, title: str, bars: list[Bar], scale: float | None = None, legend: str = "") -> SafeString:
    """Horizontal bars, ``scale`` (default: the largest value) spanning the bar area."""
    top = 24 if legend else 4
    height = top + ROW_HEIGHT * max(len(bars), 1) + 4
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    biggest = scale if scale is not None else max((bar.value for bar in bars), default=0.0)
    rows = []
    for index, bar in enumerate(bars):
        y = top + index * ROW_HEIGHT
        whole = span * bar.value / biggest if biggest else 0.0
        part = span * min(bar.part, bar.value) / biggest if biggest else 0.0
        label = format_html(
            '<text x="{}" y="{}" text-anchor="end" font-size="{}">{}</text>',
            LABEL_WIDTH - 6,
            y + BAR_HEIGHT - 3,
            FONT_SIZE,
            bar.label,
        )
        if bar.href:
            label = format_html('<a href="{}">{}</a>', bar.href, label)
        rows.append(
            format_html(
                '{}<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<text x="{}" y="{}" font-size="{}">{}</text>',
                label,
                LABEL_WIDTH,
                y,
                f"{whole:.1f}",
                BAR_HEIGHT,
                COLOURS["primary"],
                LABEL_WIDTH,
                y,
                f"{part:.1f}",
                BAR_HEIGHT,
                COLOURS["alert"],
                LABEL_WIDTH + whole + 6,
                y + BAR_HEIGHT - 3,
                FONT_SIZE,
                bar.text,
            )
        )
    legend_svg = (
        format_html(
            '<text x="{}" y="16" font-size="{}" fill="#555">{}</text>', LABEL_WIDTH, FONT_SIZE, legend
        )
        if legend
        else ""
    )
    return format_html(
        '<svg class="workbench-chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}{}</svg>",
        WIDTH,
        height,
        title,
        legend_svg,
        format_html_join("", "{}", ((row,) for row in rows)),
    )
