"""Home, search and product pages."""

import hashlib
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from marketplace import storefront_cache
from marketplace.errors import ListingUnavailable, MarketplaceError
from marketplace.forms import SearchForm
from marketplace.selectors import catalog
from marketplace.services.quota import transaction_limit_check


@require_GET
@storefront_cache.kept_page
def home(request):
    listings = list(catalog.visible_listings()[:8])
    storefront_cache.shows(request, listings)
    return render(
        request,
        "marketplace/home.html",
        {
            "listings": listings,
            "stock": catalog.availability_for(listings),
            **storefront_cache.marks(request),
        },
    )


@require_GET
@storefront_cache.kept_page
def product_list(request):
    form = SearchForm(request.GET)
    filters = form.filters()
    paginator = Paginator(catalog.listing_search(**filters), settings.CATALOG_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    storefront_cache.shows(request, page.object_list)
    return render(
        request,
        "marketplace/product_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "stock": catalog.availability_for(page.object_list),
            "facets": catalog.catalog_facets(),
            "query": query.urlencode(),
            **storefront_cache.marks(request),
        },
    )


@require_GET
@storefront_cache.kept_page(listing_ids=lambda kwargs: [kwargs["pk"]])
def product_detail(request, pk: int):
    try:
        listing = catalog.listing_visible(listing_id=pk)
    except ListingUnavailable:
        raise Http404 from None
    quantity, quantity_error = 1, None
    if "qty" in request.GET:
        try:
            quantity = catalog.clean_quantity(request.GET["qty"])
        except MarketplaceError as exc:
            quantity_error = exc.message
    tax = catalog.listing_tax_preview(listing=listing, quantity=quantity)
    limit_error = None
    try:
        transaction_limit_check(order_value=tax.dutiable_value, units=quantity)
    except MarketplaceError as exc:
        limit_error = exc.message
    options = catalog.delivery_options(listing=listing)
    storefront_cache.shows(request, [listing])
    return render(
        request,
        "marketplace/product_detail.html",
        {
            "listing": listing,
            "quantity": quantity,
            "quantity_error": quantity_error,
            "limit_error": limit_error,
            "tax": tax,
            "composite_rate": catalog.listing_rates(listing).composite_within_limits(),
            "available": options[-1].available,  # domestic delivery: every storage zone
            "options": options,
            "max_quantity": catalog.MAX_QUANTITY,
            **storefront_cache.marks(request),
        },
    )


PALETTE = ["#0b6e4f", "#1f5fa8", "#a8431f", "#7a3fa8", "#a88a1f", "#1f8fa8", "#a81f5f"]


def placeholder_svg(*, seed: str, label: str) -> str:
    """A generated product picture: colour and shape from the seed, the label in the middle."""
    digest = hashlib.sha256(seed.encode()).digest()
    color = PALETTE[digest[0] % len(PALETTE)]
    accent = PALETTE[digest[1] % len(PALETTE)]
    cx, cy, r = 60 + digest[2] % 280, 60 + digest[3] % 180, 40 + digest[4] % 80
    text = escape(label[:18])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img">'
        f'<rect width="400" height="300" fill="{color}"/>'
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{accent}" opacity=".55"/>'
        '<rect x="140" y="70" width="120" height="160" rx="18" fill="#fff" opacity=".9"/>'
        f'<rect x="165" y="50" width="70" height="26" rx="6" fill="#fff" opacity=".9"/>'
        f'<text x="200" y="275" font-family="sans-serif" font-size="22" fill="#fff" '
        f'text-anchor="middle">{text}</text></svg>'
    )


@require_GET
@cache_control(max_age=86400, public=True)
def product_image(request, pk: int):
    listing = catalog.visible_listings().filter(pk=pk).first()
    if listing is None:
        raise Http404
    svg = placeholder_svg(seed=listing.item.item_no, label=listing.brand.name)
    return HttpResponse(svg, content_type="image/svg+xml")
