"""Storefront reads: what is visible, searchable, in stock and deliverable.

A page of listings costs a fixed number of queries whatever its size: one for the rows (with
every related row joined), one count, one for availability from bonded.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from bonded import selectors as bonded_selectors
from config import refcache
from marketplace.errors import InvalidQuantity, ListingUnavailable
from marketplace.models import Brand, Category, Listing, Merchant
from marketplace.services.tax import TaxBreakdown, TaxLineInput, TaxRates, compute_tax

MAX_QUANTITY = 99  # per line; a shopper buys retail quantities

SORTS = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("item__name_zh", "id"),
    "name_en": ("item__name_en", "id"),
}


def visible_listings() -> QuerySet[Listing]:
    """On sale and sold by an approved merchant, with everything a card shows joined in."""
    return Listing.objects.filter(
        is_active=True, merchant__status=Merchant.Status.APPROVED
    ).select_related("item", "merchant", "brand", "category", "tax_category")


def listing_search(
    *,
    q: str = "",
    category: str = "",
    brand: str = "",
    origin: str = "",
    in_stock: bool = False,
    sort: str = "newest",
) -> QuerySet[Listing]:
    listings = visible_listings()
    q = q.strip()
    if q:
        listings = listings.filter(
            Q(item__name_zh__icontains=q)
            | Q(item__name_en__icontains=q)
            | Q(brand__name__icontains=q)
            | Q(item__barcode=q)
            | Q(item__item_no=q)
        )
    if category:
        listings = listings.filter(category__slug=category)
    if brand:
        listings = listings.filter(brand__slug=brand)
    if origin:
        listings = listings.filter(item__origin_country=origin.upper())
    if in_stock:
        # One query over bonded storage, whatever the page size.
        free = bonded_selectors.available_by_item()
        listings = listings.filter(item_id__in=[i for i, n in free.items() if n > 0])
    if sort == "name" and (get_language() or "").startswith("en"):
        sort = "name_en"  # alphabetical in the language the shopper reads
    return listings.order_by(*SORTS.get(sort, SORTS["newest"]))


_CATALOG_MODELS = (
    "marketplace.Listing",
    "marketplace.Merchant",
    "marketplace.Category",
    "marketplace.Brand",
    "bonded.GoodsItem",
)


def listing_visible(*, listing_id: int) -> Listing:
    listing = visible_listings().filter(pk=listing_id).first()
    if listing is None:
        raise ListingUnavailable()
    return listing


def availability_for(listings) -> dict[int, int]:
    """Units free to sell in bonded storage per listing id: one query for the whole page."""
    listings = list(listings)
    free = bonded_selectors.available_by_item(item_ids=[x.item_id for x in listings])
    return {x.pk: max(free.get(x.item_id, 0), 0) for x in listings}


def catalog_facets() -> dict:
    """Filter choices: categories, brands and origins that have visible listings. Three
    statements, read once per REFERENCE_CACHE_SECONDS per process (config/refcache.py): every
    list page shows them and they change only when staff edit the catalog."""

    def load() -> dict:
        visible = visible_listings()
        return {
            "categories": list(Category.objects.filter(listings__in=visible).distinct()),
            "brands": list(Brand.objects.filter(listings__in=visible).distinct()),
            "origins": sorted(
                set(visible.values_list("item__origin_country", flat=True).order_by())
            ),
        }

    return refcache.cached(_CATALOG_MODELS, "catalog_facets", load)


@dataclass(frozen=True)
class DeliveryOption:
    kind: str  # "pickup" | "delivery"
    title: str
    lead_time: str
    location_code: str = ""
    address: str = ""
    opening_hours: str = ""
    available: int = 0


def delivery_options(*, listing: Listing) -> list[DeliveryOption]:
    """Counter pickup only at counters inside the special supervision zone, from the bonded
    storage of that counter's warehouse; domestic delivery from any bonded storage, last, with
    the listing's whole free stock. One statement (counters and storage zones are cached)."""
    english = (get_language() or "").startswith("en")
    counters = bonded_selectors.zone_counters()
    storage_by_counter = {c.code: bonded_selectors.storage_location_for(c) for c in counters}
    per_storage = bonded_selectors.available_by_storage(item_id=listing.item_id)
    options = [
        DeliveryOption(
            kind="pickup",
            title=(c.name_en if english else c.name_zh),
            lead_time=_("ready in minutes"),
            location_code=c.code,
            address=(c.address_en if english else c.address_zh),
            opening_hours=c.opening_hours,
            available=max(per_storage.get(getattr(storage_by_counter[c.code], "code", ""), 0), 0),
        )
        for c in counters
    ]
    total = sum(per_storage.values())
    options.append(
        DeliveryOption(
            kind="delivery",
            title=_("Domestic delivery"),
            lead_time=_("3 to 4 days"),
            available=max(total, 0),
        )
    )
    return options


def clean_quantity(quantity) -> int:
    try:
        value = int(str(quantity).strip())
    except (TypeError, ValueError):
        raise InvalidQuantity(maximum=MAX_QUANTITY) from None
    if not 1 <= value <= MAX_QUANTITY:
        raise InvalidQuantity(maximum=MAX_QUANTITY)
    return value


def listing_rates(listing: Listing) -> TaxRates:
    tc = listing.tax_category
    return TaxRates(vat=tc.vat_rate, consumption=tc.consumption_rate, duty=tc.duty_rate)


def listing_tax_preview(
    *, listing: Listing, quantity: int = 1, freight: Decimal = Decimal("0")
) -> TaxBreakdown:
    """The tax shown up front on the product page, from the stored price (never a posted one)."""
    quantity = clean_quantity(quantity)
    return compute_tax(
        lines=[
            TaxLineInput(
                unit_price=listing.price,
                quantity=quantity,
                rates=listing_rates(listing),
                key=str(listing.pk),
            )
        ],
        freight=freight,
    )
