"""Chart specifications for Apache ECharts (static/vendor/echarts, pinned in package.json).

A panel's chart is a small JSON-ready dict: the page passes it through `json_script` and
static/js/supervision_charts.js draws it (no inline script, nothing fetched: the strict CSP
stays). The browser formats the numbers for the page's language (Intl.NumberFormat), ECharts
picks rounded axis ticks, and the labels here are already in the reader's language.

kind: "bar" | "line"; horizontal: categories on the y axis (long names, ellipsis);
stacked: series stacked; labels: "day" | "hour" | "month" (ISO strings the browser formats as
dates in the page's language) or "text"; each series has a format ("count", "money" to the
fen, "percent" for rates 0..1) and an axis (0 left, 1 right).
"""

from __future__ import annotations

from decimal import Decimal

# Above this many bars a line says the same more legibly (an hour per bar over 30 days).
MAX_BARS = 62


def _number(value) -> float | int:
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01")))
    return value


def _series(name: str, values: list, *, fmt: str, axis: int = 0) -> dict:
    return {"name": str(name), "data": [_number(v) for v in values], "format": fmt, "axis": axis}


def bar(
    labels: list[str],
    series: dict[str, list],
    *,
    secondary: dict[str, list] | None = None,
    stacked: bool = False,
    horizontal: bool = False,
    percent: bool = False,
    label_kind: str = "text",
    secondary_format: str = "money",
) -> dict:
    kind = "bar"
    if not horizontal and len(labels) > MAX_BARS:
        kind = "line"
    fmt = "percent" if percent else "count"
    return {
        "kind": kind,
        "horizontal": horizontal,
        "stacked": stacked,
        "labels": [str(label) for label in labels],
        "labelKind": label_kind,
        "series": [_series(name, values, fmt=fmt) for name, values in series.items()]
        + [
            _series(name, values, fmt=secondary_format, axis=1)
            for name, values in (secondary or {}).items()
        ],
    }


def line(labels: list[str], series: dict[str, list], *, label_kind: str = "text") -> dict:
    spec = bar(labels, series, label_kind=label_kind)
    spec["kind"] = "line"
    return spec
