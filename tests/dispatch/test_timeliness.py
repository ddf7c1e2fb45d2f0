"""Release -> dispatch against the 24-hour target: at-risk highlighting in the warehouse and a
per-day figure on the supervision dashboard (Asia/Shanghai days)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dispatch.models import Shipment
from dispatch.selectors import shipments_at_risk, timeliness_by_day
from tests.dispatch.support import operator

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def shipment(no, released, dispatched=None, ebc="4101960001"):
    return Shipment.objects.create(
        order_no=no, warehouse_code="CW", ebc_code=ebc, logistics_code="4101980001",
        logistics_no=f"YD{no}", declared_weight_kg=1, released_at=released,
        due_at=released + dt.timedelta(hours=24), dispatched_at=dispatched,
        state="dispatched" if dispatched else "picking",
    )  # fmt: skip


def test_per_day_of_release_on_time_late_and_waiting():
    day = dt.datetime(2026, 3, 5, 0, 30, tzinfo=SH)  # 16:30 UTC the day before: a Shanghai day
    shipment("A", day, day + dt.timedelta(hours=3))
    shipment("B", day, day + dt.timedelta(hours=30))
    shipment("C", day + dt.timedelta(hours=20))  # still in the warehouse, now past due
    shipment("D", day + dt.timedelta(days=1), ebc="4101960002")
    now = day + dt.timedelta(days=1, hours=21)
    days = timeliness_by_day(start=day - dt.timedelta(hours=1), end=now, now=now)
    assert [(d.day.isoformat(), d.released, d.dispatched, d.on_time, d.late, d.waiting)
            for d in days] == [("2026-03-05", 3, 2, 1, 2, 0),
                               ("2026-03-06", 1, 0, 0, 0, 1)]  # fmt: skip
    assert days[0].median_hours == 16.5 and days[0].on_time_rate == pytest.approx(1 / 3)
    mine = timeliness_by_day(start=day, end=now, now=now, ebc_code="4101960002")
    assert [d.released for d in mine] == [1]


def test_orders_near_or_past_the_deadline_are_at_risk(client, settings):
    now = timezone.now()
    fresh = shipment("F", now - dt.timedelta(hours=2))
    near = shipment("N", now - dt.timedelta(hours=21))
    late = shipment("L", now - dt.timedelta(hours=30))
    shipment("X", now - dt.timedelta(hours=30), dispatched=now - dt.timedelta(hours=1))
    assert list(shipments_at_risk()) == [late, near]
    assert (fresh.timeliness, near.timeliness, late.timeliness) == ("on_time", "at_risk", "late")
    client.force_login(operator())
    page = client.get("/warehouse/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="at_risk"' in page and 'class="late"' in page and "late</b>" in page


def test_the_dashboard_shows_the_daily_dispatch_figure(client):
    from tests.supervision.factories import platform_user

    day = dt.datetime(2026, 3, 5, 9, 0, tzinfo=SH)
    shipment("A", day, day + dt.timedelta(hours=3))
    client.force_login(platform_user())
    params = {"start": "2026-03-01", "end": "2026-03-31"}
    body = client.get("/supervision/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "release to dispatch against 24 hours" in body
    rows = client.get("/supervision/", {**params, "panel": "dispatch", "format": "csv"})
    lines = rows.content.decode("utf-8-sig").splitlines()
    assert any(line.startswith("2026-03-05,1,1,1,0,0,100.00%,3.0") for line in lines), lines
