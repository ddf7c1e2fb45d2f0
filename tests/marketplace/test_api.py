"""Marketplace API: registration, token, products, my profile; errors as {code, message, extra}."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from bonded.models import Location
from marketplace.models import Merchant, Shopper
from tests.marketplace.factories import (
    VALID_IDS,
    BalanceFactory,
    ListingFactory,
    LocationFactory,
    OrderFactory,
    ShopperFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def api():
    return APIClient()


def register(api, **overrides):
    body = {
        "real_name": "李娜",
        "resident_id": VALID_IDS[2],
        "mobile": "13700137000",
        "password": PASSWORD,
    }
    body.update(overrides)
    return api.post("/api/v1/shoppers/register/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_register_returns_a_token_and_the_masked_profile(api):
    response = register(api)
    assert response.status_code == 201
    body = response.json()
    assert body["profile"]["masked_id"] == "**************0071"
    assert VALID_IDS[2] not in response.content.decode()
    assert body["profile"]["quota"] == {
        "year": timezone.localdate().year,
        "limit": "26000.00",
        "used": "0.00",
        "remaining": "26000.00",
    }
    me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert me.json()["real_name"] == "李娜"


def test_register_with_a_bad_check_digit_answers_a_coded_error_in_the_users_language(api):
    response = register(api, resident_id="360426199101010072")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_resident_id",
        "message": (
            "This resident ID number is not valid. Enter all 18 characters exactly as on the "
            "ID card (the last one may be X)."
        ),
        "extra": {"field": "resident_id"},
    }
    zh = api.post(
        "/api/v1/shoppers/register/",
        {"real_name": "李娜", "resident_id": "360426199101010072", "mobile": "13700137000",
         "password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )  # fmt: skip
    assert zh.json()["code"] == "invalid_resident_id"
    assert "身份证" in zh.json()["message"]
    assert Shopper.objects.count() == 0


def test_register_twice_with_one_id_is_a_conflict(api):
    register(api)
    response = register(api, mobile="13600136000")
    assert response.status_code == 409
    assert response.json()["code"] == "resident_id_taken"


def test_register_with_missing_fields_lists_them(api):
    response = api.post("/api/v1/shoppers/register/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["extra"]["fields"]) >= {"real_name", "resident_id", "mobile"}


def test_token_with_mobile_or_username(api):
    register(api, username="lina")
    for login in ["13700137000", "lina"]:
        response = api.post("/api/v1/auth/token/", {"login": login, "password": PASSWORD})
        assert response.status_code == 200
        assert len(response.json()["token"]) == 40
    bad = api.post("/api/v1/auth/token/", {"login": "lina", "password": "nope"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_credentials"


def test_profile_needs_authentication(api):
    response = api.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "message", "extra"}


def test_profile_shows_only_my_own_quota(api):
    # Mobiles of their own: a sequence number could contain the other's "0014".
    mine = ShopperFactory(real_name="王芳", resident_id="11010519491231002X", mobile="13911112222")
    other = ShopperFactory(real_name="李娜", resident_id="440524188001010014", mobile="13933334444")
    now = timezone.now()
    OrderFactory(shopper=mine, goods_value=Decimal("1200.00"), paid_at=now)
    OrderFactory(shopper=other, goods_value=Decimal("4000.00"), paid_at=now)
    api.force_authenticate(mine.user)
    response = api.get("/api/v1/me/")
    body = response.json()
    assert body["quota"]["used"] == "1200.00"
    assert body["quota"]["remaining"] == "24800.00"
    assert body["real_name"] == "王芳"
    assert body["masked_id"] == mine.masked_id and body["masked_id"].endswith("002X")
    raw = response.content.decode()
    for theirs in ("李娜", "0014", "4000.00", "22000.00"):  # nothing of the other shopper's
        assert theirs not in raw


def test_staff_without_shopper_profile_gets_404_with_no_data(api):
    api.force_authenticate(UserFactory(is_staff=True))
    response = api.get("/api/v1/me/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_product_list_with_availability_and_tax(api):
    storage = LocationFactory(code="ZZ-ST-A", kind=Location.Kind.STORAGE)
    listing = ListingFactory(price=Decimal("3000.00"), item__name_en="Formula")
    BalanceFactory(item=listing.item, location=storage, on_hand=9, reserved=2)
    ListingFactory(merchant__status=Merchant.Status.SUSPENDED)
    response = api.get("/api/v1/products/", {"q": "formula"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["available"] == 7
    assert row["price"] == "3000.00"
    assert row["tax_for_one"]["total"] == "273.00"


def test_product_list_rejects_an_unknown_sort_with_a_coded_error(api):
    response = api.get("/api/v1/products/", {"sort": "evil"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_product_list_queries_do_not_grow_with_page_size(api, settings):
    for _ in range(50):
        ListingFactory()
    counts = []
    for size in (5, 50):
        settings.CATALOG_PAGE_SIZE = size
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get("/api/v1/products/").json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_product_detail_has_delivery_options_and_hidden_products_are_404(api):
    listing = ListingFactory()
    LocationFactory(code="ZZ-CTR-1", kind=Location.Kind.COUNTER, inside_supervision_zone=True)
    body = api.get(f"/api/v1/products/{listing.pk}/").json()
    assert [o["kind"] for o in body["delivery_options"]] == ["pickup", "delivery"]
    hidden = ListingFactory(is_active=False)
    response = api.get(f"/api/v1/products/{hidden.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "listing_unavailable"


def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_quota_year_in_profile_counts_only_this_year(api):
    shopper = ShopperFactory()
    OrderFactory(
        shopper=shopper,
        goods_value=Decimal("500.00"),
        paid_at=timezone.now() - dt.timedelta(days=800),
    )
    api.force_authenticate(shopper.user)
    assert api.get("/api/v1/me/").json()["quota"]["used"] == "0.00"


def test_token_api_is_rate_limited_with_a_coded_error(api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})
    address = f"10.{id(api) % 250}.{timezone.now().microsecond % 250}.7"
    codes = [
        api.post(
            "/api/v1/auth/token/", {"login": "x", "password": "y"}, REMOTE_ADDR=address
        ).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]
    last = api.post("/api/v1/auth/token/", {"login": "x", "password": "y"}, REMOTE_ADDR=address)
    assert last.json()["code"] == "throttled"
    assert "retry_after_s" in last.json()["extra"]


def test_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yml"))
    schema = (tmp_path / "s.yml").read_text()
    for path in ["/api/v1/shoppers/register/", "/api/v1/auth/token/", "/api/v1/me/"]:
        assert path in schema
