"""Web registration, sign-in and the account page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Shopper
from tests.marketplace.factories import BAD_CHECK_ID, VALID_IDS, OrderFactory, ShopperFactory

pytestmark = pytest.mark.django_db
REGISTER = reverse("marketplace:register")
ACCOUNT = reverse("marketplace:account")
PASSWORD = "correct-horse-battery"


def form(**overrides):
    data = {
        "real_name": "刘洋",
        "resident_id": VALID_IDS[3],
        "mobile": "13500135000",
        "username": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_registration_signs_the_shopper_in_and_shows_the_masked_id(client):
    response = client.post(REGISTER, form(), follow=True)
    assert response.redirect_chain[-1][0] == ACCOUNT
    body = response.content.decode()
    assert "**************8241" in body
    assert VALID_IDS[3] not in body
    assert "¥26,000.00" in body


def test_invalid_id_is_shown_next_to_the_field_and_nothing_is_written(client):
    response = client.post(REGISTER, form(resident_id=BAD_CHECK_ID), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].errors["resident_id"]
    assert Shopper.objects.count() == 0


def test_invalid_phone_gets_a_message_in_chinese_by_default(client):
    response = client.post(REGISTER, form(mobile="12345"))
    assert response.status_code == 200
    assert "手机号" in " ".join(response.context["form"].errors["mobile"])


def test_duplicate_id_is_refused_on_the_web(client):
    ShopperFactory(resident_id=VALID_IDS[3])
    response = client.post(REGISTER, form(), HTTP_ACCEPT_LANGUAGE="en")
    assert "already exists" in " ".join(response.context["form"].errors["resident_id"])
    assert Shopper.objects.count() == 1


def test_mismatched_passwords_are_refused(client):
    response = client.post(REGISTER, form(password2="something-else-1"))
    assert response.context["form"].errors["password2"]
    assert Shopper.objects.count() == 0


def test_login_with_mobile_number_then_logout(client):
    client.post(REGISTER, form())
    client.post(reverse("marketplace:logout"))
    assert client.get(ACCOUNT).status_code == 302
    response = client.post(
        reverse("marketplace:login"), {"username": "13500135000", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(ACCOUNT).status_code == 200


def test_account_shows_my_own_quota_only(client):
    mine = ShopperFactory(real_name="甲某", resident_id="11010519491231002X")
    other = ShopperFactory(real_name="乙某", resident_id="440524188001010014")
    OrderFactory(shopper=mine, goods_value=Decimal("1234.50"), paid_at=timezone.now())
    OrderFactory(shopper=other, goods_value=Decimal("9999.00"), paid_at=timezone.now())
    client.force_login(mine.user)
    body = client.get(ACCOUNT).content.decode()
    assert "¥1,234.50" in body
    assert "¥24,765.50" in body
    assert "乙某" not in body
    assert "甲某" in body and mine.masked_id in body
    assert other.masked_id not in body and "0014" not in body and "¥9,999.00" not in body


def test_account_page_for_a_login_without_shopper_profile_is_404(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staffer", password=PASSWORD))
    assert client.get(ACCOUNT).status_code == 404


def test_registration_post_never_puts_the_id_in_a_url(client):
    response = client.post(REGISTER, form())
    assert VALID_IDS[3] not in response["Location"]
