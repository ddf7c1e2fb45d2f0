"""Rendered storefront pages, kept per process and never stale in price or stock (issue #19).

For an anonymous visitor (no session cookie) the home, list and product pages are served from
a per-process cache of their rendered HTML. Whether a kept page is still right is checked on
every request by **one statement** (PostgreSQL only): the row versions (`xmin`, which changes
with every committed UPDATE and never comes back; with the prices and units themselves) of the
page's listings, their goods items and tax categories, and every stock balance of those items.
Any change to a price, a listing, an item, a tax rate or a unit of stock makes a new stamp, so
the page is rendered again; a page is kept
under the stamp read *before* it was rendered, so a change racing the render is never served
later. A page whose listings are not known yet (its first view) is rendered and not kept.

What the stamp cannot see is a listing entering or leaving a list page (a new listing, a
merchant approved or suspended, a category renamed): saving or deleting any catalog row bumps
a catalog version in the shared cache (`CACHE_URL`), read at most once a second per process
(another node's save is seen within that second), and a kept page lives at most
`STOREFRONT_CACHE_SECONDS` (0 turns the cache off) for writes that bypass `save()`.

Per-visitor parts are filled in on the way out: the CSRF token of every form and the CSP
nonce. Signed-in visitors, flash messages and anything but GET are never served from here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import wraps

from cachetools import TTLCache
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

logger = logging.getLogger(__name__)
CSRF_MARK = "@@bondport-csrf@@"
NONCE_MARK = "@@bondport-nonce@@"
VERSION_KEY = "storefront:catalog-version"

_lock = threading.Lock()
_pages: TTLCache | None = None


@dataclass
class Entry:
    listing_ids: tuple[int, ...]
    bodies: dict = field(default_factory=dict)  # stamp -> (body, content type)


def _cache() -> TTLCache:
    global _pages
    ttl = settings.STOREFRONT_CACHE_SECONDS
    if _pages is None or _pages.ttl != ttl:
        _pages = TTLCache(maxsize=settings.STOREFRONT_CACHE_MAX_PAGES, ttl=max(ttl, 1))
    return _pages


def enabled() -> bool:
    return settings.STOREFRONT_CACHE_SECONDS > 0 and connection.vendor == "postgresql"


_version = {"value": "", "until": 0.0}


def catalog_version() -> str:
    """The shared catalog version, read at most once a second per process (saves here bump it
    at once; another node's save is seen within a second)."""
    now = time.monotonic()
    if now < _version["until"]:
        return _version["value"]
    try:
        value = str(cache.get(VERSION_KEY) or 0)
    except Exception:  # no shared cache: the stamp and the TTL still hold
        value = "?"
    _version.update(value=value, until=now + 1.0)
    return value


def catalog_changed(**_kwargs) -> None:
    """A catalog row was saved or deleted: every node renders its pages again."""
    try:
        if not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)
    except Exception:  # the TTL still bounds it on other nodes
        logger.warning("storefront catalog version not bumped", exc_info=True)
    _version["until"] = 0.0
    with _lock:
        _cache().clear()


STAMP_SQL = """
SELECT l.id, l.xmin::text, l.price, i.xmin::text, t.xmin::text,
       b.id, b.xmin::text, b.on_hand, b.reserved
FROM marketplace_listing l
JOIN bonded_goodsitem i ON i.id = l.item_id
JOIN marketplace_taxcategory t ON t.id = l.tax_category_id
LEFT JOIN bonded_balance b ON b.item_id = l.item_id
WHERE l.id = ANY(%(ids)s)
"""


def stamp(listing_ids: tuple[int, ...]) -> tuple:
    """The row versions of everything a page of these listings shows: one statement."""
    with connection.cursor() as cursor:
        cursor.execute(STAMP_SQL, {"ids": list(listing_ids)})
        return tuple(sorted(cursor.fetchall()))


def _anonymous(request) -> bool:
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "messages" not in request.COOKIES


def marks(request) -> dict:
    """Context for a page that may be kept: placeholders for the per-visitor parts."""
    if getattr(request, "storefront_keep", False):
        return {"csrf_token": CSRF_MARK, "csp_nonce": NONCE_MARK}
    return {}


def shows(request, listings) -> None:
    """The view tells which listings its page shows (what the stamp reads)."""
    request.storefront_listings = tuple(sorted({x.pk for x in listings}))


def _fill(body: str, request) -> str:
    if CSRF_MARK in body:
        parts = body.split(CSRF_MARK)
        body = parts[0] + "".join(get_token(request) + p for p in parts[1:])
    if NONCE_MARK in body:
        body = body.replace(NONCE_MARK, str(getattr(request, "csp_nonce", "")))
    return body


def kept_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or not _anonymous(request) or not enabled():
            return view(request, *args, **kwargs)
        key = (
            catalog_version(),
            get_language(),
            settings.CATALOG_PAGE_SIZE,
            request.get_full_path(),
        )
        with _lock:
            entry = _cache().get(key)
        before = None
        if entry is not None:
            before = stamp(entry.listing_ids)
            hit = entry.bodies.get(before)
            if hit is not None:
                body, content_type = hit
                response = HttpResponse(_fill(body, request), content_type=content_type)
                response["X-Storefront-Cache"] = "hit"
                return response
        request.storefront_keep = True
        response = view(request, *args, **kwargs)
        ids = getattr(request, "storefront_listings", None)
        if response.status_code != 200 or ids is None or response.streaming:
            return response
        body = response.content.decode()
        with _lock:
            pages = _cache()
            if entry is None or entry.listing_ids != ids:
                pages[key] = Entry(ids)  # first view: kept from the next one on
            else:
                entry.bodies = {before: (body, response["Content-Type"])}
                pages[key] = entry
        response.content = _fill(body, request).encode()
        response["X-Storefront-Cache"] = "miss"
        return response

    return wrapper


def connect() -> None:
    from bonded.models import GoodsItem
    from marketplace.models import Brand, Category, Listing, Merchant, TaxCategory

    for model in (Listing, GoodsItem, Brand, Category, TaxCategory, Merchant):
        for signal in (post_save, post_delete):
            signal.connect(catalog_changed, sender=model, dispatch_uid=f"sf-{model.__name__}")
