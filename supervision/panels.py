"""The dashboard's panels: each one query (or a few) in the owning app's selectors, a chart,
and the same numbers as a table (shown beside the chart and exported as CSV).

Panels never query tables themselves: customs, bonded and marketplace keep their tables'
knowledge in their selectors; this module only composes, labels and draws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bonded.selectors import book_vs_stock_by_warehouse
from customs import selectors_stats as stats
from customs.selectors_stats import Scope
from dispatch.selectors import timeliness_by_day
from marketplace.selectors.order_stats import journey_time
from marketplace.selectors.quota import quota_usage_distribution
from supervision import charts
from supervision.access import Access
from supervision.words import reason_words, rule_words

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The source reports about two minutes for the whole O2O process (DOMAIN.md).
SOURCE_AVERAGE_SECONDS = 120


@dataclass
class Panel:
    key: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict | None = None  # an ECharts spec (supervision.charts), drawn in the browser
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


BUCKET_FORMAT = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}


def _buckets(scope: Scope, bucket: str) -> list[dt.datetime] | None:
    """Every bucket of the range, so days without data show as 0; None when too many."""
    start = scope.start.astimezone(SHANGHAI)
    end = scope.end.astimezone(SHANGHAI)
    out: list[dt.datetime] = []
    if bucket == "month":
        cur = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while cur < end:
            out.append(cur)
            cur = (cur + dt.timedelta(days=32)).replace(day=1)
        return out
    step = dt.timedelta(hours=1) if bucket == "hour" else dt.timedelta(days=1)
    if (end - start) / step > 24 * 14:
        return None
    cur = start.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        cur = cur.replace(hour=0)
    while cur < end:
        out.append(cur)
        cur = (cur + step).astimezone(SHANGHAI)
    return out


def _label(value: dt.datetime, bucket: str) -> str:
    return value.astimezone(SHANGHAI).strftime(BUCKET_FORMAT[bucket])


def _pct(rate: float) -> str:
    return f"{rate:.2%}"


def volume_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    rows = stats.declarations_by_period(scope, bucket=bucket)
    by_label = {_label(r.bucket, bucket): r for r in rows}
    labels = [_label(b, bucket) for b in (_buckets(scope, bucket) or [])] or list(by_label)
    table = [
        [label, by_label[label].declarations, by_label[label].goods_value]
        if label in by_label
        else [label, 0, stats.ZERO]
        for label in labels
    ]
    panel = Panel(
        "volume",
        _("Declarations and goods value"),
        [_("period"), _("declarations"), _("goods value (yuan)")],
        table if rows else [],
    )
    if rows:
        panel.chart = charts.bar(
            labels,
            {_("declarations"): [r[1] for r in table]},
            secondary={_("goods value (yuan)"): [r[2] for r in table]},
            label_kind=bucket,
        )
        total = stats.declaration_totals(scope)
        panel.notes.append(
            _("%(n)s inventory lists declared, goods value %(value)s yuan.")
            % {"n": total.declarations, "value": total.goods_value}
        )
    return panel


def _reasons_panel(key: str, title: str, filed: int, rows, what: str) -> Panel:
    panel = Panel(
        key,
        title,
        [_("reason"), what, _("share of orders filed")],
        [[reason_words(r.reason), r.orders, _pct(r.rate)] for r in rows],
    )
    if rows:
        panel.chart = charts.bar(
            [row[0] for row in panel.rows],
            {what: [r.rate for r in rows]},
            horizontal=True,
            percent=True,
        )
        total = sum(r.orders for r in rows)
        panel.notes.append(
            _("%(n)s of %(filed)s orders filed (%(rate)s).")
            % {"n": total, "filed": filed, "rate": _pct(total / filed if filed else 0)}
        )
    return panel


def rejections_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    filed, rows = stats.rejections_by_reason(scope)
    return _reasons_panel(
        "rejections", _("Rejection rate by reason"), filed, rows, _("orders rejected")
    )


def holds_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    filed, rows = stats.holds_by_reason(scope)
    return _reasons_panel(
        "inspections",
        _("Review and inspection rate by reason"),
        filed,
        rows,
        _("orders held"),
    )


def hits_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    rows = stats.hits_by_rule(scope, bucket=bucket)
    rules = sorted({r.rule_code for r in rows})
    counts = {(_label(r.bucket, bucket), r.rule_code): r.hits for r in rows}
    present = sorted({_label(r.bucket, bucket) for r in rows})
    labels = [_label(b, bucket) for b in (_buckets(scope, bucket) or [])] or present
    panel = Panel(
        "hits",
        _("Risk-rule hits by rule"),
        [_("period"), _("rule"), _("hits")],
        [[_label(r.bucket, bucket), rule_words(r.rule_code), r.hits] for r in rows],
    )
    if rows:
        panel.chart = charts.bar(
            labels,
            {
                rule_words(rule): [counts.get((label, rule), 0) for label in labels]
                for rule in rules
            },
            stacked=True,
            label_kind=bucket,
        )
    return panel


def _merchant_table(rows) -> list[list]:
    return [
        [r.ebc_code, r.name, r.orders, r.goods_value, r.rejected, _pct(r.rejection_rate)]
        for r in rows
    ]


MERCHANT_COLUMNS = [
    gettext_noop("merchant code"),
    gettext_noop("name"),
    gettext_noop("orders"),
    gettext_noop("goods value (yuan)"),
    gettext_noop("Rejected"),
    gettext_noop("rejection rate"),
]


def _merchant_columns() -> list[str]:
    return [_(c) for c in MERCHANT_COLUMNS]


def top_volume_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    rows = stats.top_merchants_by_volume(scope)
    panel = Panel(
        "top_volume", _("Top merchants by volume"), _merchant_columns(), _merchant_table(rows)
    )
    if rows:
        panel.chart = charts.bar(
            [r.name for r in rows], {_("orders"): [r.orders for r in rows]}, horizontal=True
        )
    return panel


def top_rejection_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    rows = stats.top_merchants_by_rejection_rate(scope, min_orders=MIN_ORDERS_FOR_RATE)
    panel = Panel(
        "top_rejection",
        _("Top merchants by rejection rate"),
        _merchant_columns(),
        _merchant_table(rows),
    )
    if rows:
        panel.chart = charts.bar(
            [r.name for r in rows],
            {_("rejection rate"): [r.rejection_rate for r in rows]},
            horizontal=True,
            percent=True,
        )
        panel.notes.append(
            _("Merchants with fewer than %(n)s orders in the range are not ranked.")
            % {"n": MIN_ORDERS_FOR_RATE}
        )
    return panel


MIN_ORDERS_FOR_RATE = 5


def _seconds_label(bound: int | None) -> str:
    if bound is None:
        return _("longer")
    return _("≤ %(s)s s") % {"s": bound}


def _histogram_panel(key: str, title: str, latency, note: str) -> Panel:
    panel = Panel(
        key,
        title,
        [_("time"), _("orders")],
        [[_seconds_label(b.upper_seconds), b.orders] for b in latency.buckets]
        if latency.orders
        else [],
    )
    if latency.orders:
        labels = [row[0] for row in panel.rows]
        panel.chart = charts.bar(labels, {_("orders"): [row[1] for row in panel.rows]})
        panel.notes.append(
            note
            % {
                "n": latency.orders,
                "avg": f"{latency.average_seconds:.1f}",
                "p50": _seconds_label(latency.percentile_bound(0.5)),
                "p90": _seconds_label(latency.percentile_bound(0.9)),
                "ref": SOURCE_AVERAGE_SECONDS,
            }
        )
    return panel


def latency_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    return _histogram_panel(
        "latency",
        _("Release latency (payment filed to released)"),
        stats.release_latency(scope),
        _(
            "%(n)s orders released; average %(avg)s s; half within %(p50)s, nine in ten "
            "within %(p90)s. The source reports about %(ref)s s for the whole O2O process."
        ),
    )


def journey_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    journey = journey_time(
        start=scope.start, end=scope.end, merchant_code=scope.ebc_code, counter=scope.counter
    )
    return _histogram_panel(
        "journey",
        _("O2O journey time (ordering to handover at the counter)"),
        journey,
        _(
            "%(n)s orders handed over; average %(avg)s s; half within %(p50)s, nine in ten "
            "within %(p90)s, against the source's average of about %(ref)s s."
        ),
    )


def quota_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    year = scope.end.astimezone(SHANGHAI).year
    if scope.end.astimezone(SHANGHAI).timetuple()[3:6] == (0, 0, 0):
        year = (scope.end - dt.timedelta(seconds=1)).astimezone(SHANGHAI).year
    rows = quota_usage_distribution(year=year)
    shoppers = sum(n for _bound, n in rows)
    labels = [
        _("≤ %(y)s yuan") % {"y": bound} if bound is not None else _("over the limit")
        for bound, _n in rows
    ]
    panel = Panel(
        "quota",
        _("Annual quota usage across shoppers (%(year)s)") % {"year": year},
        [_("used this year"), _("shoppers")],
        [[label, n] for label, (_bound, n) in zip(labels, rows, strict=True)] if shoppers else [],
    )
    if shoppers:
        panel.chart = charts.bar(labels, {_("shoppers"): [n for _b, n in rows]})
        panel.notes.append(
            _("Per-person annual limit 26,000 yuan; merchant and counter filters do not apply.")
        )
        panel.notes.append(_("Recomputed every 10 minutes."))
    return panel


def stock_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    rows = book_vs_stock_by_warehouse(owner_code=scope.ebc_code)
    panel = Panel(
        "stock",
        _("Stock on hand against the account book"),
        [_("warehouse"), _("book balance"), _("physical under bond"), _("difference"),
         _("items"), _("items differing")],
        [[r.warehouse_code, r.book_balance, r.physical, r.difference, r.items,
          r.items_differing] for r in rows],
    )  # fmt: skip
    if rows:
        panel.chart = charts.bar(
            [r.warehouse_code for r in rows],
            {
                _("book balance"): [r.book_balance for r in rows],
                _("physical under bond"): [r.physical for r in rows],
            },
        )
        panel.notes.append(_("Current balances: the date range does not apply."))
    return panel


def dispatch_panel(scope: Scope, bucket: str, access: Access) -> Panel:
    from django.conf import settings

    target = settings.DISPATCH_TARGET_HOURS
    days = timeliness_by_day(start=scope.start, end=scope.end, ebc_code=scope.ebc_code)
    panel = Panel(
        "dispatch",
        _("Delivery orders: release to dispatch against %(h)s hours") % {"h": target},
        [_("day released"), _("released"), _("dispatched"), _("on time"), _("late"),
         _("still in the warehouse"), _("on-time rate"), _("median hours")],
        [[d.day.isoformat(), d.released, d.dispatched, d.on_time, d.late, d.waiting,
          _pct(d.on_time_rate) if d.on_time_rate is not None else "-",
          f"{d.median_hours:.1f}" if d.median_hours is not None else "-"] for d in days],
    )  # fmt: skip
    if days:
        panel.chart = charts.bar(
            [d.day.isoformat() for d in days],
            {_("on time"): [d.on_time for d in days], _("late"): [d.late for d in days],
             _("still in the warehouse"): [d.waiting for d in days]},
            stacked=True, label_kind="day",
        )  # fmt: skip
        panel.notes.append(
            _("Per day of customs release (Asia/Shanghai); late includes orders still in the "
              "warehouse past the target. Counter filter does not apply.")
        )  # fmt: skip
    return panel


PanelFn = Callable[[Scope, str, Access], Panel]
PANELS: dict[str, tuple[PanelFn, bool]] = {
    # key: (builder, platform staff only)
    "volume": (volume_panel, False),
    "rejections": (rejections_panel, False),
    "inspections": (holds_panel, False),
    "hits": (hits_panel, False),
    "top_volume": (top_volume_panel, True),
    "top_rejection": (top_rejection_panel, True),
    "latency": (latency_panel, False),
    "journey": (journey_panel, False),
    "dispatch": (dispatch_panel, False),
    "quota": (quota_panel, True),
    "stock": (stock_panel, False),
}


def panels_for(access: Access) -> list[str]:
    return [
        key
        for key, (_fn, platform_only) in PANELS.items()
        if access.is_platform or not platform_only
    ]


def build(key: str, scope: Scope, bucket: str, access: Access) -> Panel:
    return PANELS[key][0](scope, bucket, access)
