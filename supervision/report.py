"""The yearly summary the source quotes for Zhengzhou: declarations, goods value, growth on the
previous year, import/export split. Figures from customs' selectors; drawn with matplotlib."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from customs import selectors_stats as stats
from customs.selectors_stats import Scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
# DOMAIN.md: Zhengzhou, 2017, as the source reports it (for comparison only).
SOURCE_2017 = {
    "declarations": 91_300_000,
    "declarations_growth": 0.591,
    "goods_value_yuan": Decimal("11390000000"),
    "goods_value_growth": 0.717,
    "imports": 73_700_000,
    "exports": 17_600_000,
}


def year_scope(year: int, ebc_code: str | None = None) -> Scope:
    return Scope(
        dt.datetime(year, 1, 1, tzinfo=SHANGHAI), dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI),
        ebc_code,
    )  # fmt: skip


def growth(current, previous) -> float | None:
    """Year on year; None ("no data") when the previous year has nothing to compare with."""
    if not previous:
        return None
    return float(current) / float(previous) - 1


@dataclass(frozen=True)
class YearReport:
    year: int
    declarations: int
    goods_value: Decimal
    previous_declarations: int
    previous_goods_value: Decimal
    monthly: list[tuple[int, int, Decimal]]  # (month, declarations, goods value)
    previous_monthly: list[tuple[int, int, Decimal]]

    @property
    def declarations_growth(self) -> float | None:
        return growth(self.declarations, self.previous_declarations)

    @property
    def goods_value_growth(self) -> float | None:
        return growth(self.goods_value, self.previous_goods_value)

    # Bondport files cross-border retail imports only (bonded stocking, mode 1210).
    @property
    def imports(self) -> int:
        return self.declarations

    exports = 0


def _monthly(year: int) -> list[tuple[int, int, Decimal]]:
    rows = {
        r.bucket.astimezone(SHANGHAI).month: r
        for r in stats.declarations_by_period(year_scope(year), bucket="month")
    }
    return [
        (m, rows[m].declarations, rows[m].goods_value) if m in rows else (m, 0, stats.ZERO)
        for m in range(1, 13)
    ]


def year_report(year: int) -> YearReport:
    now = stats.declaration_totals(year_scope(year))
    before = stats.declaration_totals(year_scope(year - 1))
    return YearReport(
        year=year,
        declarations=now.declarations,
        goods_value=now.goods_value,
        previous_declarations=before.declarations,
        previous_goods_value=before.goods_value,
        monthly=_monthly(year),
        previous_monthly=_monthly(year - 1),
    )


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:+.1%}"


def report_lines(report: YearReport) -> list[tuple[str, str, str]]:
    """(figure, this platform, Zhengzhou 2017 per the source) rows for the printed table."""
    total = report.declarations
    share = f" ({report.imports / total:.1%})" if total else ""
    src = SOURCE_2017
    return [
        ("year", str(report.year), "2017"),
        ("declarations (inventory lists)", f"{total:,}", f"{src['declarations']:,}"),
        (
            "  year on year",
            _pct(report.declarations_growth),
            f"{src['declarations_growth']:+.1%}",
        ),
        ("goods value (yuan)", f"{report.goods_value:,.2f}", f"{src['goods_value_yuan']:,.0f}"),
        ("  year on year", _pct(report.goods_value_growth), f"{src['goods_value_growth']:+.1%}"),
        ("imports", f"{report.imports:,}{share}", f"{src['imports']:,}"),
        ("exports", "0 (not applicable: imports only, mode 1210)", f"{src['exports']:,}"),
        (
            f"previous year ({report.year - 1})",
            f"{report.previous_declarations:,} / {report.previous_goods_value:,.2f} yuan"
            if report.previous_declarations
            else "no data",
            "",
        ),
    ]


def draw(report: YearReport, path: Path) -> Path:
    """Monthly declarations (bars, this year against last) and goods value (line), as PNG/PDF."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    months = [m for m, _n, _v in report.monthly]
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    width = 0.4
    ax.bar([m - width / 2 for m in months], [n for _m, n, _v in report.previous_monthly], width,
           label=f"{report.year - 1} declarations", color="#9ca3af")  # fmt: skip
    ax.bar([m + width / 2 for m in months], [n for _m, n, _v in report.monthly], width,
           label=f"{report.year} declarations", color="#0b7a53")  # fmt: skip
    ax.set_xticks(months)
    ax.set_xlabel("month (Asia/Shanghai)")
    ax.set_ylabel("inventory lists declared")
    value_axis = ax.twinx()
    value_axis.plot(months, [float(v) for _m, _n, v in report.monthly], color="#c2410c",
                    marker="o", label=f"{report.year} goods value (yuan)")  # fmt: skip
    value_axis.set_ylabel("goods value (yuan)")
    value_axis.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = value_axis.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    ax.set_title(
        f"Bondport {report.year}: {report.declarations:,} declarations "
        f"({_pct(report.declarations_growth)}), goods value {report.goods_value:,.2f} yuan "
        f"({_pct(report.goods_value_growth)}); imports only, exports 0",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
