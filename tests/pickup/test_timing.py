"""The journey's timing for staff: per Shanghai day, median and p90, against two minutes."""

from datetime import UTC, datetime, timedelta

import pytest

from pickup.selectors import SOURCE_AVERAGE_SECONDS, timing_by_day


def _row(created: datetime, ready_s: float | None, handover_s: float | None):
    return (
        created,
        created + timedelta(seconds=ready_s) if ready_s is not None else None,
        created + timedelta(seconds=handover_s) if handover_s is not None else None,
    )


def test_days_are_shanghai_days_and_statistics_per_day():
    # 23:30 UTC on the 1st is 07:30 on the 2nd in Shanghai: both rows fall on the 2nd.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    early = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    rows = [_row(late, 10, 60), _row(early, 20, 100)]
    rows += [_row(early + timedelta(minutes=n), 30, 300) for n in range(3)]
    rows.append(_row(early, None, None))  # not released yet: counted, no times
    [day] = timing_by_day(rows)
    assert str(day.day) == "2026-11-02"
    assert day.orders == 6
    assert day.ready_median == 30
    assert day.handover_median == 300
    assert day.ready_p90 == pytest.approx(30)
    assert day.handover_mean == pytest.approx((60 + 100 + 900) / 5)
    assert day.within_source_average is False


def test_fast_day_is_within_the_source_average():
    created = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    [day] = timing_by_day([_row(created, 5, 40), _row(created, 6, 50)])
    assert day.handover_mean < SOURCE_AVERAGE_SECONDS and day.within_source_average
    assert day.handover_p90 == pytest.approx(49)


def test_empty_day_list():
    assert timing_by_day([]) == []


@pytest.mark.django_db
def test_timing_page_is_staff_only(client, admin_client):
    assert client.get("/kiosk/timing/").status_code == 302
    from django.utils import timezone

    from tests.marketplace.factories import OrderFactory, ShopperFactory

    shopper, now = ShopperFactory(), timezone.now()
    for seconds in (40, 50, 60):
        OrderFactory(
            shopper=shopper, delivery_mode="pickup", counter_code="C-ZZ1", state="delivered",
            created_at=now - timedelta(seconds=seconds), released_at=now - timedelta(seconds=5),
            delivered_at=now,
        )  # fmt: skip
    response = admin_client.get("/kiosk/timing/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<td>3</td>" in page and "<td>50.0</td>" in page  # three orders, median 50 s
