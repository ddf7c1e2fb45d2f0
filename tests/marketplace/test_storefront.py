"""Storefront pages: visibility, search, filters, sort, pagination, tax up front, delivery."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bonded.models import Location
from marketplace.models import Merchant
from tests.marketplace.factories import (
    BalanceFactory,
    BrandFactory,
    CategoryFactory,
    ListingFactory,
    LocationFactory,
    MerchantFactory,
    TaxCategoryFactory,
)

pytestmark = pytest.mark.django_db
LIST = reverse("marketplace:product_list")


def detail(listing):
    return reverse("marketplace:product_detail", args=[listing.pk])


def names(response):
    return [listing.item.name_en for listing in response.context["page"].object_list]


@pytest.fixture
def storage():
    return LocationFactory(code="ZZ-ST-A", kind=Location.Kind.STORAGE)


def test_only_approved_merchants_active_listings_are_visible(client):
    shown = ListingFactory(item__name_en="Shown")
    ListingFactory(item__name_en="Inactive", is_active=False)
    ListingFactory(item__name_en="Pending", merchant__status=Merchant.Status.REGISTERED)
    suspended = ListingFactory(item__name_en="Suspended", merchant__status="suspended")
    response = client.get(LIST)
    assert names(response) == ["Shown"]
    assert client.get(detail(shown)).status_code == 200
    assert client.get(detail(suspended)).status_code == 404


def test_search_matches_chinese_and_english_names_brand_and_barcode(client):
    ListingFactory(item__name_zh="澳洲奶粉", item__name_en="Formula", brand__name="Koala")
    ListingFactory(item__name_en="Serum", item__barcode="4901234567894")
    ListingFactory(item__name_en="Cheese")
    assert names(client.get(LIST, {"q": "奶粉"})) == ["Formula"]
    assert names(client.get(LIST, {"q": "serum"})) == ["Serum"]
    assert names(client.get(LIST, {"q": "koala"})) == ["Formula"]
    assert names(client.get(LIST, {"q": "4901234567894"})) == ["Serum"]


def test_filters_by_category_brand_origin_and_stock(client, storage):
    dairy, beauty = CategoryFactory(slug="dairy"), CategoryFactory(slug="beauty")
    brand = BrandFactory(slug="rhein")
    milk = ListingFactory(
        item__name_en="Milk", category=dairy, brand=brand, item__origin_country="DE"
    )
    ListingFactory(item__name_en="Cream", category=beauty, item__origin_country="JP")
    ListingFactory(item__name_en="Butter", category=dairy, item__origin_country="DE")
    BalanceFactory(item=milk.item, location=storage, on_hand=5)
    assert sorted(names(client.get(LIST, {"category": "dairy"}))) == ["Butter", "Milk"]
    assert names(client.get(LIST, {"brand": "rhein"})) == ["Milk"]
    assert names(client.get(LIST, {"origin": "jp"})) == ["Cream"]
    assert names(client.get(LIST, {"in_stock": "on"})) == ["Milk"]


def test_sort_by_price_name_and_newest(client):
    ListingFactory(item__name_zh="乙", item__name_en="B", price=Decimal("30.00"))
    ListingFactory(item__name_zh="甲", item__name_en="A", price=Decimal("10.00"))
    ListingFactory(item__name_zh="丙", item__name_en="C", price=Decimal("20.00"))
    assert names(client.get(LIST, {"sort": "price"})) == ["A", "C", "B"]
    assert names(client.get(LIST, {"sort": "-price"})) == ["B", "C", "A"]
    assert names(client.get(LIST)) == ["C", "A", "B"]  # newest first
    assert names(client.get(LIST, {"sort": "name"}, HTTP_ACCEPT_LANGUAGE="en")) == ["A", "B", "C"]
    # In Chinese, by the Chinese name as the database orders it (code points: 丙 U+4E19,
    # 乙 U+4E59, 甲 U+7532), an order none of the other sorts gives.
    assert names(client.get(LIST, {"sort": "name"}, HTTP_ACCEPT_LANGUAGE="zh-hans")) == [
        "C", "B", "A"
    ]  # fmt: skip


def test_malformed_filters_are_ignored_not_an_error(client):
    ListingFactory()
    response = client.get(LIST, {"sort": "DROP TABLE", "origin": "xyz", "page": "-4"})
    assert response.status_code == 200
    assert len(names(response)) == 1


def test_pagination_splits_the_results(client, settings):
    settings.CATALOG_PAGE_SIZE = 2
    for _ in range(5):
        ListingFactory()
    assert len(names(client.get(LIST))) == 2
    assert len(names(client.get(LIST, {"page": 3}))) == 1
    assert client.get(LIST, {"page": 99}).context["page"].number == 3


def _queries_for_page(client, settings, size: int) -> int:
    settings.CATALOG_PAGE_SIZE = size
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST, {"in_stock": "on"})
    assert len(response.context["page"].object_list) == size
    return len(ctx.captured_queries)


def test_queries_per_page_do_not_grow_with_page_size(client, settings, storage):
    brands = [BrandFactory() for _ in range(3)]
    categories = [CategoryFactory() for _ in range(3)]
    merchants = [MerchantFactory() for _ in range(3)]
    for i in range(50):
        listing = ListingFactory(
            brand=brands[i % 3], category=categories[i % 3], merchant=merchants[i % 3]
        )
        BalanceFactory(item=listing.item, location=storage, on_hand=3)
    small = _queries_for_page(client, settings, 5)
    large = _queries_for_page(client, settings, 50)
    assert large == small
    assert large <= 8


def test_home_page_queries_do_not_grow_with_listings(client, django_assert_max_num_queries):
    for _ in range(12):
        ListingFactory()
    with django_assert_max_num_queries(4):
        assert client.get("/").status_code == 200


def test_product_page_shows_tax_for_one_unit_up_front(client):
    cosmetics = TaxCategoryFactory(
        code="cosmetics", vat_rate=Decimal("0.13"), consumption_rate=Decimal("0.15")
    )
    serum = ListingFactory(price=Decimal("1000.00"), tax_category=cosmetics)
    response = client.get(detail(serum), HTTP_ACCEPT_LANGUAGE="en")
    tax = response.context["tax"]
    assert (tax.consumption_tax, tax.vat, tax.total) == (
        Decimal("123.53"),
        Decimal("107.06"),
        Decimal("230.59"),
    )
    body = response.content.decode()
    assert "¥1,000.00" in body
    assert "¥230.59" in body
    assert "¥1,230.59" in body


@pytest.mark.parametrize("qty", ["0", "-3", "100000", "abc"])
def test_bad_quantity_on_product_page_gives_a_message_not_an_error(client, qty):
    listing = ListingFactory()
    response = client.get(detail(listing), {"qty": qty}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["quantity"] == 1
    assert "Choose a quantity between 1 and 99" in response.content.decode()


def test_several_units_above_5000_show_the_split_message(client):
    listing = ListingFactory(price=Decimal("2600.00"))
    response = client.get(detail(listing), {"qty": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Split it into several orders" in response.content.decode()


def test_counter_pickup_only_at_counters_inside_the_zone(client, storage):
    listing = ListingFactory()
    BalanceFactory(item=listing.item, location=storage, on_hand=7)
    LocationFactory(
        code="ZZ-CTR-1",
        kind=Location.Kind.COUNTER,
        name_en="Experience store counter 1",
        inside_supervision_zone=True,
    )
    LocationFactory(
        code="CITY-CTR",
        kind=Location.Kind.COUNTER,
        name_en="Downtown counter",
        inside_supervision_zone=False,
    )
    response = client.get(detail(listing), HTTP_ACCEPT_LANGUAGE="en")
    options = response.context["options"]
    assert [(o.kind, o.location_code, o.available) for o in options] == [
        ("pickup", "ZZ-CTR-1", 7),
        ("delivery", "", 7),
    ]
    body = response.content.decode()
    assert "ready in minutes" in body
    assert "3 to 4 days" in body
    assert "Downtown counter" not in body


def test_placeholder_image_is_a_generated_svg(client):
    listing = ListingFactory(brand__name="<Koala>")
    response = client.get(reverse("marketplace:product_image", args=[listing.pk]))
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert b"&lt;Koala&gt;" in response.content


def test_pages_are_in_chinese_by_default_and_english_on_request(client):
    ListingFactory()
    zh = client.get(LIST).content.decode()
    assert "全部商品" in zh
    assert "保税港" in zh
    en = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "All products" in en


@pytest.mark.parametrize("raw", ["0", "-1", "100", "1e9", "2.5", "", None, "99999999999999999999"])
def test_clean_quantity_refuses_zero_negative_huge_and_non_integers(raw):
    from marketplace.errors import InvalidQuantity
    from marketplace.selectors.catalog import clean_quantity

    with pytest.raises(InvalidQuantity) as exc:
        clean_quantity(raw)
    assert exc.value.extra == {"field": "quantity", "maximum": 99}


def test_tax_preview_uses_the_stored_price_not_a_posted_one(client):
    listing = ListingFactory(price=Decimal("3000.00"))
    response = client.get(detail(listing), {"price": "1.00", "qty": "1"})
    assert response.context["tax"].total == Decimal("273.00")
