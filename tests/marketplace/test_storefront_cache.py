"""Kept storefront pages (issue #19, marketplace/storefront_cache.py): served to anonymous
visitors with one statement, never stale in price or stock, each visitor's CSRF token its own."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bonded import services as bonded_services
from marketplace import storefront_cache

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the stamp reads PostgreSQL row versions")
    storefront_cache.catalog_changed()


def _get(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response, len(captured)


def test_product_page_is_kept_checked_in_one_statement_and_follows_price_and_stock(world):
    url = f"/products/{world.paste.pk}/"
    first, _n = _get(Client(), url)
    assert first["X-Storefront-Cache"] == "miss"
    _get(Client(), url)  # now kept
    hit, statements = _get(Client(), url)
    assert hit["X-Storefront-Cache"] == "hit" and statements == 1
    assert TOKEN.sub("", hit.content.decode()) == TOKEN.sub("", first.content.decode())
    # the price changes: never the old page
    world.paste.price = Decimal("61.00")
    world.paste.save()
    changed, _n = _get(Client(), url)
    assert changed["X-Storefront-Cache"] == "miss" and "61.00" in changed.content.decode()
    _get(Client(), url)
    assert _get(Client(), url)[0]["X-Storefront-Cache"] == "hit"
    # stock moves by the ledger's own SQL (no save(), no signal): the stamp sees it
    before = _get(Client(), url)[0].content.decode()
    bonded_services.stock_reserve(
        reference="BP-T-1",
        location_code="CW-A",
        lines=[bonded_services.StockLine(world.paste.item.item_no, 7, 1)],
        actor="test",
    )
    after, _n = _get(Client(), url)
    assert after["X-Storefront-Cache"] == "miss"
    assert after.content.decode() != before


def test_list_page_kept_and_each_visitor_gets_a_working_csrf_token(world):
    for _ in range(2):
        _get(Client(), "/products/")
    visitor = Client(enforce_csrf_checks=True)
    page, statements = _get(visitor, "/products/")
    assert page["X-Storefront-Cache"] == "hit" and statements == 1
    assert "@@bondport" not in page.content.decode()
    product, _n = _get(visitor, f"/products/{world.paste.pk}/")
    token = TOKEN.search(product.content.decode())
    if token is None:  # the product page was not kept yet: its form carries a token anyway
        pytest.fail("no CSRF token in the product form")
    added = visitor.post(
        "/cart/", {"csrfmiddlewaretoken": token.group(1), "listing": world.paste.pk}
    )
    assert added.status_code == 302  # the token of a kept page works for this visitor


def test_signed_in_visitors_are_never_served_a_kept_page(world, client):
    for _ in range(3):
        _get(Client(), "/products/")
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    response = client.get("/products/")
    assert "X-Storefront-Cache" not in response


def test_product_page_follows_a_counters_new_opening_hours(world):
    """A counter's address and hours are on every product page, not in the stamp: saving the
    counter must bump the catalog version (the several-node proof caught it served stale)."""
    world.counter.address_en = "Hall B, Zhengzhou bonded zone"
    world.counter.opening_hours = "09:00-21:00"
    world.counter.save()
    url = f"/products/{world.paste.pk}/"
    for _ in range(2):
        _get(Client(), url)
    kept, _n = _get(Client(), url)
    assert kept["X-Storefront-Cache"] == "hit" and "09:00-21:00" in kept.content.decode()
    world.counter.opening_hours = "10:00-18:30"
    world.counter.save()
    after, _n = _get(Client(), url)
    page = after.content.decode()
    assert "10:00-18:30" in page and "09:00-21:00" not in page


class _CacheSpy:
    """The shared cache, recording how long each storefront page is kept."""

    def __init__(self, real):
        self.real, self.kept = real, []

    def set(self, key, value, timeout=None, **kwargs):
        if key.startswith("storefront:") and isinstance(value, dict) and "body" in value:
            self.kept.append(timeout)
        return self.real.set(key, value, timeout=timeout, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.django_db(transaction=True)  # the reference cache keeps only what committed
def test_a_page_rendered_from_another_nodes_stale_counters_is_kept_only_until_they_expire(
    world, settings, monkeypatch
):
    """Another node saves the counter: this node's reference cache still holds the old hours
    for up to REFERENCE_CACHE_SECONDS, so the page it renders after the version bump must not
    be kept for the page's whole STOREFRONT_CACHE_SECONDS (the several-node proof saw that)."""
    from django.core.cache import cache

    settings.STOREFRONT_CACHE_SECONDS = 30
    world.counter.address_en = "Hall B, Zhengzhou bonded zone"
    world.counter.opening_hours = "09:00-21:00"
    world.counter.save()
    url = f"/products/{world.paste.pk}/"
    for _ in range(2):
        _get(Client(), url)  # kept; this process's reference cache holds the counter
    # The other node: the row changes under us (no save() here, so nothing of ours is dropped)
    # and its save bumps the shared catalog version.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bonded_location SET opening_hours = %s WHERE id = %s",
            ["10:00-18:30", world.counter.pk],
        )
    storefront_cache.catalog_changed()
    spy = _CacheSpy(cache)
    monkeypatch.setattr(storefront_cache, "cache", spy)
    stale, _n = _get(Client(), url)
    assert stale["X-Storefront-Cache"] == "miss"
    assert "09:00-21:00" in stale.content.decode()  # our reference cache has not turned over
    assert spy.kept and max(spy.kept) <= settings.REFERENCE_CACHE_SECONDS
    # Long after the change, a page is kept for the full time again.
    spy.real.set(storefront_cache.CHANGED_AT_KEY, 0, timeout=None)
    storefront_cache._version["until"] = 0.0
    assert storefront_cache.keep_seconds() == 30
