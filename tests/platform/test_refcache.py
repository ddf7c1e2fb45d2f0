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
    # Another process renames it: no signal reaches this one (raw SQL, as from elsewhere).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customs_enterprise SET name = %s WHERE code = %s",
            ["New name", "4101980001"],
        )
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


def test_the_cache_holds_at_most_max_entries_and_drops_the_oldest(settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    settings.REFERENCE_CACHE_MAX_ENTRIES = 5
    for n in range(20):  # codes typed at a kiosk or sent by a client: keys without end
        bonded_selectors.location_by_code(f"NOPE-{n}")
    assert _reads(lambda: bonded_selectors.location_by_code("NOPE-19")) == 0  # newest kept
    assert _reads(lambda: bonded_selectors.location_by_code("NOPE-0")) == 1  # oldest gone
    assert refcache.size() == 5


def test_a_queryset_update_drops_the_entry_in_this_process(settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    Enterprise.objects.create(code="4101980001", role="merchant", name="Old name")
    assert not supervision.enterprises({"4101980001"})[("merchant", "4101980001")].suspended
    Enterprise.objects.filter(code="4101980001").update(suspended=True)  # no save(), no signal
    assert supervision.enterprises({"4101980001"})[("merchant", "4101980001")].suspended


def test_a_bulk_create_drops_the_entry_in_this_process(settings):
    from tests.bonded.factories import WarehouseFactory

    settings.REFERENCE_CACHE_SECONDS = 60
    warehouse = WarehouseFactory(code="CW")
    assert bonded_selectors.location_by_code("CW-NEW") is None  # cached: no such location
    Location.objects.bulk_create([Location(code="CW-NEW", warehouse=warehouse, name_en="New")])
    assert bonded_selectors.location_by_code("CW-NEW").name_en == "New"


def test_a_listing_moved_by_update_shows_in_the_catalog_filters_at_once(settings):
    from marketplace.models import Listing
    from marketplace.selectors.catalog import catalog_facets
    from tests.marketplace.factories import CategoryFactory, ListingFactory

    settings.REFERENCE_CACHE_SECONDS = 60
    listing = ListingFactory()
    shelf = CategoryFactory(slug="new-shelf")
    assert shelf not in catalog_facets()["categories"]
    Listing.objects.filter(pk=listing.pk).update(category=shelf)
    assert shelf in catalog_facets()["categories"]
