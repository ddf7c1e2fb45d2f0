"""Rendered storefront pages, kept in the shared cache, never stale in price or stock (#19).

For an anonymous visitor (no session cookie) the home, list and product pages are served from
the shared cache (`CACHE_URL`: every process and node shares one copy) of their rendered
HTML. Whether a kept page is still right is checked on every request by **one statement**
(PostgreSQL only): the row versions (`xmin`, which changes with every committed UPDATE and
never comes back; with the prices and units themselves) of the page's listings, their goods
items and tax categories, and every stock balance of those items. Any change to a price, a
listing, an item, a tax rate or a unit of stock makes a new stamp, so the page is rendered
again; a page is kept under the stamp read *before* it was rendered, so a change racing the
render is never served later. A list page whose listings are not known yet (its first view)
is rendered and not kept; a product page names its listing in the URL and is kept from its
first view.

What the stamp cannot see is a listing entering or leaving a list page (a new listing, a
merchant approved or suspended, a category renamed) or a counter's new address or hours:
saving or deleting any catalog or location row bumps a catalog version in the shared cache
(`CACHE_URL`), read at most once a second per process
(another node's save is seen within that second), and a kept page lives at most
`STOREFRONT_CACHE_SECONDS` (0 turns the cache off) for writes that bypass `save()`.

A page rendered on another node right after a save may still read that node's reference cache
(config/refcache.py: the counters, their hours), filled before the save and kept for up to
`REFERENCE_CACHE_SECONDS`. So the version is bumped again when the saving transaction commits,
with the time of that commit, and a page rendered less than `REFERENCE_CACHE_SECONDS` after the
last change is kept only until every node's reference cache has turned over (the several-node
proof saw web2 keep the old opening hours for the page's whole 30 s otherwise).

Per-visitor parts are filled in on the way out: the CSRF token of every form and the CSP
nonce. Signed-in visitors, flash messages and anything but GET are never served from here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

logger = logging.getLogger(__name__)
CSRF_MARK = "@@bondport-csrf@@"
NONCE_MARK = "@@bondport-nonce@@"
VERSION_KEY = "storefront:catalog-version"
CHANGED_AT_KEY = "storefront:catalog-changed-at"


def enabled() -> bool:
    return settings.STOREFRONT_CACHE_SECONDS > 0 and connection.vendor == "postgresql"


_version = {"value": "", "changed_at": 0.0, "until": 0.0}


def _read_version() -> None:
    """The shared catalog version and the wall-clock time of the last change, read at most once
    a second per process (saves here bump it at once; another node's is seen within a second)."""
    now = time.monotonic()
    if now < _version["until"]:
        return
    try:
        shared = cache.get_many([VERSION_KEY, CHANGED_AT_KEY])
        value, changed_at = (
            str(shared.get(VERSION_KEY) or 0),
            float(shared.get(CHANGED_AT_KEY) or 0),
        )
    except Exception:  # no shared cache: the stamp and the TTL still hold
        value, changed_at = "?", 0.0
    _version.update(value=value, changed_at=changed_at, until=now + 1.0)


def catalog_version() -> str:
    _read_version()
    return _version["value"]


def keep_seconds() -> int:
    """How long a page rendered now is kept: until every node's reference cache has turned over
    since the last catalog change (whole seconds, rounded up; the nodes' clocks are assumed
    NTP-close), at most STOREFRONT_CACHE_SECONDS."""
    _read_version()
    turned_over = _version["changed_at"] + settings.REFERENCE_CACHE_SECONDS - time.time()
    if turned_over <= 0:
        return settings.STOREFRONT_CACHE_SECONDS
    return max(1, min(settings.STOREFRONT_CACHE_SECONDS, math.ceil(turned_over)))


def _bump() -> None:
    try:
        if not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)
        cache.set(CHANGED_AT_KEY, time.time(), timeout=None)
    except Exception:  # the TTL still bounds it on other nodes
        logger.warning("storefront catalog version not bumped", exc_info=True)
    _version["until"] = 0.0


def catalog_changed(**_kwargs) -> None:
    """A catalog row was saved or deleted: every node renders its pages again, now and once
    more when the change commits (until then other nodes still read the old row)."""
    _bump()
    if connection.in_atomic_block:
        transaction.on_commit(_bump)


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


def _get(key: str):
    try:
        return cache.get(key)
    except Exception:  # no shared cache: render
        return None


def _put(key: str, entry: dict) -> None:
    try:
        cache.set(key, entry, timeout=keep_seconds())
    except Exception:  # not kept: the next view renders again
        logger.warning("storefront page not kept", exc_info=True)


def kept_page(view=None, *, listing_ids=None):
    """Serve the view's page from the shared cache while its stamp holds. `listing_ids(kwargs)`
    names the listings from the URL (a product page), so even its first view is kept."""
    if view is None:
        return lambda v: kept_page(v, listing_ids=listing_ids)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or not _anonymous(request) or not enabled():
            return view(request, *args, **kwargs)
        parts = (
            catalog_version(),
            get_language(),
            settings.CATALOG_PAGE_SIZE,
            request.get_full_path(),
        )
        key = "storefront:" + hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
        entry = _get(key) or {}
        ids = entry.get("ids") or (tuple(listing_ids(kwargs)) if listing_ids else None)
        before = stamp(ids) if ids else None
        if "body" in entry and entry["stamp"] == before:
            response = HttpResponse(_fill(entry["body"], request), content_type=entry["type"])
            response["X-Storefront-Cache"] = "hit"
            return response
        request.storefront_keep = True
        response = view(request, *args, **kwargs)
        shown = getattr(request, "storefront_listings", None)
        if response.status_code != 200 or shown is None or response.streaming:
            return response
        body = response.content.decode()
        if before is not None and shown == ids:
            _put(key, {"ids": ids, "stamp": before, "body": body, "type": response["Content-Type"]})
        else:
            _put(key, {"ids": shown})  # its listings now known: kept from the next view on
        response.content = _fill(body, request).encode()
        response["X-Storefront-Cache"] = "miss"
        return response

    return wrapper


def connect() -> None:
    from bonded.models import GoodsItem, Location
    from marketplace.models import Brand, Category, Listing, Merchant, TaxCategory

    # Location: a product page shows each counter's address and opening hours (found by the
    # several-node proof: new hours saved on one node were served stale from the other).
    for model in (Listing, GoodsItem, Brand, Category, TaxCategory, Merchant, Location):
        for signal in (post_save, post_delete):
            signal.connect(catalog_changed, sender=model, dispatch_uid=f"sf-{model.__name__}")
