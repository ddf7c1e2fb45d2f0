"""Orders in the admin: merchant staff see only their merchant's orders; actions call services."""

import pytest
from django.urls import reverse

from marketplace.models import Order
from tests.marketplace.factories import MerchantStaffFactory, UserFactory
from tests.marketplace.support import place
from tests.marketplace.test_admin import staff_with_perms

pytestmark = pytest.mark.django_db


def test_merchant_staff_see_only_their_merchants_orders(client, world):
    mine, theirs = place(world, (world.paste, 1), (world.milk, 1))
    staff = staff_with_perms(
        MerchantStaffFactory(merchant=world.merchant).user, "view_order", "change_order"
    )
    client.force_login(staff)
    changelist = client.get(reverse("admin:marketplace_order_changelist"))
    assert [o.number for o in changelist.context["cl"].queryset] == [mine.number]
    other = client.get(reverse("admin:marketplace_order_change", args=[theirs.pk]))
    assert other.status_code == 404
    page = client.get(reverse("admin:marketplace_order_change", args=[mine.pk]))
    assert page.status_code == 200 and "CEB311" in page.content.decode()


def test_cancel_action_goes_through_the_service(client, world):
    [order] = place(world, (world.paste, 1))
    platform = staff_with_perms(UserFactory(), "view_order", "change_order")
    client.force_login(platform)
    response = client.post(
        reverse("admin:marketplace_order_changelist"),
        {"action": "cancel_orders", "_selected_action": [order.pk]},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == "cancelled"
    assert order.events.last().actor == platform.username


def test_orders_cannot_be_edited_directly(client, world):
    [order] = place(world, (world.paste, 1))
    platform = staff_with_perms(UserFactory(), "view_order", "change_order")
    client.force_login(platform)
    client.post(reverse("admin:marketplace_order_change", args=[order.pk]), {"state": "delivered"})
    assert Order.objects.get(pk=order.pk).state == "placed"
