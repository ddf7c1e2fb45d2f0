"""The per-process reference cache (config/refcache.py) behind placement's reads of
locations, risk rules, parties, positive list and account-book records."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bonded import selectors as bonded_selectors
from bonded.models import Location
from config import refcache
from customs.models import Enterprise, RiskRule
from customs.services import supervision

pytestmark = pytest.mark.django_db(transaction=True)


def _reads(fn) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries.captured_queries)


def test_a_second_read_within_the_ttl_costs_no_statement(settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    RiskRule.objects.get_or_create(code="positive_list", defaults={"stage": "ex_ante"})
    assert _reads(lambda: supervision.rules_snapshot().__enter__()) == 1
    assert _reads(lambda: supervision.rules_snapshot().__enter__()) == 0


def test_a_save_in_this_process_drops_the_entry_at_once(settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    Enterprise.objects.create(code="4101980001", role="merchant", name="Old name")
    assert supervision.enterprises({"4101980001"})[("merchant", "4101980001")].name == "Old name"
    merchant = Enterprise.objects.get(code="4101980001")
    merchant.suspended = True
    merchant.save()
    assert supervision.enterprises({"4101980001"})[("merchant", "4101980001")].suspended


def test_a_change_made_elsewhere_shows_when_the_entry_expires(settings, monkeypatch):
    settings.REFERENCE_CACHE_SECONDS = 10
    Enterprise.objects.create(code="4101980001", role="merchant", name="Old name")
    clock = [1000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: clock[0])
    supervision.enterprises({"4101980001"})
    # Another process renames it: no signal reaches this one.
    Enterprise.objects.filter(code="4101980001").update(name="New name")
    clock[0] += 9
    assert supervision.enterprises({"4101980001"})[("merchant", "4101980001")].name == "Old name"
    clock[0] += 2
    assert supervision.enterprises({"4101980001"})[("merchant", "4101980001")].name == "New name"


def test_rows_read_in_a_transaction_that_rolls_back_are_not_kept(settings):
    settings.REFERENCE_CACHE_SECONDS = 60

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        Enterprise.objects.create(code="4101989999", role="merchant", name="Never committed")
        assert supervision.enterprises({"4101989999"})
        raise Undo
    assert supervision.enterprises({"4101989999"}) == {}


def test_zero_seconds_reads_the_database_every_time(settings):
    settings.REFERENCE_CACHE_SECONDS = 0
    assert _reads(lambda: bonded_selectors.location_by_code("NOPE")) == 1
    assert _reads(lambda: bonded_selectors.location_by_code("NOPE")) == 1
    assert Location.objects.count() == 0


def test_catalog_filters_show_a_new_listing_at_once_and_cost_nothing_meanwhile(settings):
    from marketplace.selectors.catalog import catalog_facets
    from tests.marketplace.factories import CategoryFactory, ListingFactory

    settings.REFERENCE_CACHE_SECONDS = 60
    ListingFactory()
    before = catalog_facets()
    assert _reads(catalog_facets) == 0
    category = CategoryFactory(slug="new-shelf")
    ListingFactory(category=category)  # staff add a listing: saved in this process
    after = catalog_facets()
    assert category in after["categories"] and category not in before["categories"]
