"""Server-side SVG charts with pygal: inline in the page, no JavaScript, nothing fetched.

pygal adds a script tag pointing at a CDN unless told otherwise: `js=[]` keeps every chart
self-contained (the pages must work offline in the bonded zone).
"""

from __future__ import annotations

import re

import pygal
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2433",
    foreground_strong="#1d2433",
    foreground_subtle="#6b7280",
    colors=("#0b7a53", "#c2410c", "#1d4ed8", "#a21caf", "#ca8a04", "#0e7490", "#be123c"),
    font_family='system-ui, "PingFang SC", "Noto Sans CJK SC", sans-serif',
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=14,
)

CONFIG = {
    "js": [],
    "disable_xml_declaration": True,
    "style": STYLE,
    "width": 720,
    "height": 300,
    "explicit_size": False,
    "print_values": False,
    "legend_at_bottom": True,
    "truncate_label": 40,
    "truncate_legend": 40,
    "x_label_rotation": 30,
    "show_minor_x_labels": True,
}


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


MAX_BARS = 62


def _render(chart) -> SafeString:
    # pygal still inlines its config for the (absent) tooltip script: drop it, no JS at all.
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    # ...and its hidden tooltip's style attribute, which the CSP would refuse (no tooltip here).
    svg = svg.replace(' style="opacity: 0" class="tooltip"', ' class="tooltip" visibility="hidden"')
    # Our own labels and numbers only; pygal escapes the text it draws.
    return mark_safe(svg)  # noqa: S308


def _labels(labels: list[str], chart) -> None:
    chart.x_labels = labels
    if len(labels) > 16:
        chart.show_minor_x_labels = False
        step = max(1, len(labels) // 15)
        chart.x_labels_major = labels[::step]


def bar(
    labels: list[str],
    series: dict[str, list],
    *,
    secondary: dict[str, list] | None = None,
    stacked: bool = False,
    horizontal: bool = False,
    percent: bool = False,
) -> SafeString:
    kind = pygal.StackedBar if stacked else pygal.HorizontalBar if horizontal else pygal.Bar
    options = {}
    if not horizontal and len(labels) > MAX_BARS:
        # Hundreds of bars cost seconds to draw (and megabytes of SVG); lines say the same.
        kind = pygal.StackedLine if stacked else pygal.Line
        options = {"show_dots": False, "fill": stacked}
    chart = kind(**CONFIG, **options)
    if horizontal:
        chart.x_label_rotation = 0
        chart.height = max(200, 40 + 28 * len(labels))
    if percent:
        chart.value_formatter = lambda v: f"{v:.1%}"
    _labels(labels, chart)
    for name, values in series.items():
        chart.add(name, values)
    for name, values in (secondary or {}).items():
        chart.add(name, values, secondary=True)
    return _render(chart)


def line(labels: list[str], series: dict[str, list]) -> SafeString:
    chart = pygal.Line(**CONFIG)
    _labels(labels, chart)
    for name, values in series.items():
        chart.add(name, values)
    return _render(chart)
