"""The demo seed puts released delivery orders in today's wave for the `warehouse` login."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_seed_gives_the_warehouse_user_a_wave_to_pick_today(client):
    from django.contrib.auth.models import User

    from dispatch.models import Shipment
    from dispatch.selectors import pick_list, waves_today

    call_command("seed_demo")
    [wave] = list(waves_today())
    shipments = Shipment.objects.filter(wave=wave)
    assert shipments.count() == 2 and {s.state for s in shipments} == {"picking"}
    assert all(line.barcode for group in pick_list(wave) for line in group.lines)
    assert all(s.declared_weight_kg > 0 and s.logistics_no for s in shipments)
    client.force_login(User.objects.get(username="warehouse"))
    page = client.get("/warehouse/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert wave.number in page
    assert client.get(f"/warehouse/waves/{wave.number}/").status_code == 200
