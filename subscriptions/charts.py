"""Small server-side SVG bar charts for the back office (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int | Decimal]


def bar_chart(
    title: str, categories: Sequence[str], series: Sequence[Series], height: int = 180
) -> SafeString:
    """Grouped vertical bars, one group per category, one bar per series, with a legend.
    The figures are also given as a table next to the chart, for screen readers too."""
    width = max(320, 40 + len(categories) * (14 * len(series) + 18))
    top = max([float(v) for s in series for v in s.values] + [1.0])
    plot = height - 40
    bars = []
    for i, _category in enumerate(categories):
        for j, line in enumerate(series):
            value = float(line.values[i])
            bar = 0 if top == 0 else round(plot * value / top, 1)
            x = 30 + i * (14 * len(series) + 18) + j * 14
            bars.append(
                (
                    x,
                    10 + plot - bar,
                    bar,
                    COLOURS[j % len(COLOURS)],
                    f"{line.label}: {line.values[i]}",
                )
            )
    labels = [(30 + i * (14 * len(series) + 18), height - 16, c) for i, c in enumerate(categories)]
    legend = [
        (30 + k * 140, height - 2, COLOURS[k % len(COLOURS)], s.label) for k, s in enumerate(series)
    ]
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}">'
        '<line x1="28" y1="{}" x2="{}" y2="{}" stroke="#9ca3af"/>{}{}{}</svg>',
        title,
        width,
        height,
        width,
        height,
        10 + plot,
        width - 5,
        10 + plot,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="12" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
        format_html_join("", '<text x="{}" y="{}" font-size="10" fill="#374151">{}</text>', labels),
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="10" height="10" fill="{}" transform="translate(0,-9)"/>'
            '<text x="{}" y="{}" font-size="11" fill="#111827" dx="14">{}</text>',
            [(x, y, colour, x, y, label) for x, y, colour, label in legend],
        ),
    )


def hbar_chart(title: str, rows: Sequence[tuple[str, int]], width: int = 420) -> SafeString:
    """Horizontal bars, one per labelled row (for long labels such as reasons)."""
    top = max([value for _label, value in rows] + [1])
    height = 12 + 22 * len(rows)
    bars = []
    for i, (label, value) in enumerate(rows):
        length = round(230 * value / top, 1)
        bars.append(
            (6, 20 + 22 * i, label, 170, 10 + 22 * i, length, value, 176 + length, 20 + 22 * i)
        )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}">'
        "{}</svg>",
        title,
        width,
        height,
        width,
        height,
        format_html_join(
            "",
            '<text x="{}" y="{}" font-size="11" fill="#111827">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="14" fill="#1d4ed8"><title>{}</title></rect>'
            '<text x="{}" y="{}" font-size="11" fill="#374151">{}</text>',
            [(*bar, bar[6]) for bar in bars],
        ),
    )
