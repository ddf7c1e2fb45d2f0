from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from demo.seed import DEMO_KIOSKS
from pickup.models import Kiosk

pytestmark = pytest.mark.django_db


def test_seed_makes_one_kiosk_per_zone_counter_with_the_printed_demo_key():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    assert sorted(Kiosk.objects.values_list("counter__code", flat=True)) == ["C-ZZ1", "C-ZZ2"]
    out = StringIO()
    call_command("demo_info", stdout=out)
    for counter_code, key in DEMO_KIOSKS:
        assert key in out.getvalue()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
        assert client.get("/api/v1/kiosk/me").data["counter_code"] == counter_code
    assert not Kiosk.objects.filter(counter__code="C-CITY").exists()
    # the demo's open pickup orders have their codes, so the kiosk can collect them at once
    from marketplace.models import Order
    from pickup.models import PickupCode

    open_pickups = Order.objects.filter(delivery_mode="pickup").exclude(
        state__in=["cancelled", "expired", "rejected", "returned", "delivered"]
    )
    assert open_pickups.exists()
    assert PickupCode.objects.filter(order__in=open_pickups).count() == open_pickups.count()
