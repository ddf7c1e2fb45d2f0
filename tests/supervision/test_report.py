"""The yearly report's figures against hand-counted clearances, and its chart file."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from supervision.report import growth, year_report
from tests.supervision.factories import clearance, merchants

pytestmark = pytest.mark.django_db


def day(year, month, d, hour=12):
    from tests.supervision.factories import SH

    return dt.datetime(year, month, d, hour, tzinfo=SH)


@pytest.fixture
def two_years():
    merchants()
    # 2025: 2 lists, 300.00 yuan. 2026: 3 lists, 600.00 yuan (one on 1 January 00:30 Shanghai,
    # which is still 31 December in UTC), plus one undeclared order that is not a list.
    clearance(created=day(2025, 5, 1), value="100.00")
    clearance(created=day(2025, 12, 31, 10), value="200.00")
    clearance(
        created=dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC) - dt.timedelta(seconds=31),
        value="100.00",
    )  # fmt: skip  declared at 16:30 UTC = 00:30 on 1 Jan in Shanghai
    clearance(created=day(2026, 3, 1), value="200.00")
    clearance(created=day(2026, 11, 30), value="300.00")
    clearance(created=day(2026, 6, 1), value="999.00", declared=False, state="rejected")


def test_year_figures_growth_and_split(two_years):
    report = year_report(2026)
    assert (report.declarations, report.goods_value) == (3, Decimal("600.00"))
    assert (report.previous_declarations, report.previous_goods_value) == (2, Decimal("300.00"))
    assert report.declarations_growth == pytest.approx(0.5)
    assert report.goods_value_growth == pytest.approx(1.0)
    assert (report.imports, report.exports) == (3, 0)
    assert [n for _m, n, _v in report.monthly] == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_growth_without_a_previous_year_is_no_data():
    assert growth(10, 0) is None and growth(15, 10) == pytest.approx(0.5)


def test_command_prints_the_table_and_writes_the_chart(two_years, tmp_path):
    out = StringIO()
    png = tmp_path / "r.png"
    call_command("supervision_report", "--year", "2026", "--output", str(png), stdout=out)
    text = out.getvalue()
    assert "declarations (inventory lists)" in text and "91,300,000" in text
    assert "+50.0%" in text and "+100.0%" in text and "600.00" in text
    assert "not applicable" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = tmp_path / "r.pdf"
    call_command("supervision_report", "--year", "2024", "--output", str(pdf), stdout=StringIO())
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_command_on_a_year_without_data_says_no_data(db, tmp_path):
    out = StringIO()
    call_command("supervision_report", "--year", "2019", "--output", str(tmp_path / "x.png"),
                 stdout=out)  # fmt: skip
    assert "no data" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("supervision_report", "--year", "2026", "--output", str(tmp_path / "x.gif"))
