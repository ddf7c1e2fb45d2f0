"""Admin roles: platform staff see all listings; merchant staff only their merchant's."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from marketplace.models import Listing, Merchant
from tests.marketplace.factories import (
    VALID_IDS,
    ListingFactory,
    MerchantFactory,
    MerchantStaffFactory,
    ShopperFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def staff_with_perms(user, *codenames):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def two_merchants():
    au = MerchantFactory(code="4101960001", name="Aussie")
    de = MerchantFactory(code="4101960002", name="Rhein")
    return au, de, ListingFactory(merchant=au), ListingFactory(merchant=de)


def test_merchant_staff_see_only_their_own_listings(client, two_merchants):
    au, _de, au_listing, de_listing = two_merchants
    staff = MerchantStaffFactory(merchant=au).user
    staff_with_perms(staff, "view_listing", "change_listing")
    client.force_login(staff)
    changelist = client.get(reverse("admin:marketplace_listing_changelist"))
    assert list(changelist.context["cl"].queryset) == [au_listing]
    other = client.get(reverse("admin:marketplace_listing_change", args=[de_listing.pk]))
    assert other.status_code == 404  # another merchant's listing is simply not there
    assert Listing.objects.get(pk=de_listing.pk).price == de_listing.price


def test_merchant_staff_cannot_move_a_listing_to_another_merchant(client, two_merchants):
    au, de, au_listing, _ = two_merchants
    staff = staff_with_perms(MerchantStaffFactory(merchant=au).user, "change_listing")
    client.force_login(staff)
    url = reverse("admin:marketplace_listing_change", args=[au_listing.pk])
    response = client.get(url)
    merchant_field = response.context["adminform"].form.fields["merchant"]
    assert list(merchant_field.queryset) == [au]
    assert de not in merchant_field.queryset


def test_platform_staff_see_every_listing(client, two_merchants):
    platform = staff_with_perms(UserFactory(), "view_listing")
    client.force_login(platform)
    changelist = client.get(reverse("admin:marketplace_listing_changelist"))
    assert changelist.context["cl"].result_count == 2


def test_approve_and_suspend_actions_go_through_the_services(client, admin_user):
    pending = MerchantFactory(status=Merchant.Status.REGISTERED)
    client.force_login(admin_user)
    url = reverse("admin:marketplace_merchant_changelist")
    client.post(url, {"action": "approve", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.status == "approved"
    assert pending.status_changed_by == admin_user.username
    client.post(url, {"action": "suspend", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.status == "suspended"
    assert pending.status_reason


def test_shopper_admin_never_shows_the_full_id(client, admin_user):
    shopper = ShopperFactory(resident_id=VALID_IDS[1])
    client.force_login(admin_user)
    pages = [
        client.get(reverse("admin:marketplace_shopper_changelist")),
        client.get(reverse("admin:marketplace_shopper_change", args=[shopper.pk])),
    ]
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert VALID_IDS[1] not in body
        assert shopper.resident_id_hash not in body
        assert "0014" in body


def test_merchant_staff_see_only_their_own_merchant_and_no_approval_actions(client, two_merchants):
    au, _de, _a, _b = two_merchants
    staff = staff_with_perms(MerchantStaffFactory(merchant=au).user, "view_merchant")
    client.force_login(staff)
    response = client.get(reverse("admin:marketplace_merchant_changelist"))
    assert list(response.context["cl"].queryset) == [au]
    assert "approve" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)


def test_listing_of_another_merchants_item_is_refused_by_validation():
    from django.core.exceptions import ValidationError

    listing = ListingFactory(merchant=MerchantFactory(code="4101960001"))
    listing.merchant = MerchantFactory(code="4101960002")
    with pytest.raises(ValidationError) as exc:
        listing.full_clean()
    assert "item" in exc.value.message_dict
