"""Carts: the session holds an anonymous shopper's lines, the database a signed-in shopper's.
On sign-in the session cart is merged into the shopper's (quantities added, capped)."""

from __future__ import annotations

from django.db import transaction

from config.errors import DomainError
from marketplace.models import CartItem
from marketplace.selectors.catalog import MAX_QUANTITY, clean_quantity, listing_visible
from marketplace.services.checkout import CartLine

SESSION_KEY = "cart"


def _session_lines(session) -> dict[str, int]:
    raw = session.get(SESSION_KEY) or {}
    return {str(k): int(v) for k, v in raw.items() if str(k).isdigit() and int(v) > 0}


def cart_lines(*, shopper=None, session=None) -> list[CartLine]:
    if shopper is not None:
        return [
            CartLine(listing_id=i.listing_id, quantity=i.quantity)
            for i in CartItem.objects.filter(shopper=shopper).order_by("id")
        ]
    return [CartLine(int(k), v) for k, v in _session_lines(session or {}).items()]


def cart_add(*, listing_id: int, quantity, shopper=None, session=None, replace: bool = False):
    """Add (or set) a line; the listing must be visible and the quantity 1..99."""
    quantity = clean_quantity(quantity)
    listing = listing_visible(listing_id=listing_id)
    if shopper is not None:
        with transaction.atomic():
            item = (
                CartItem.objects.select_for_update()
                .filter(shopper=shopper, listing=listing)
                .first()
            )
            if item is None:
                CartItem.objects.create(shopper=shopper, listing=listing, quantity=quantity)
            else:
                item.quantity = clean_quantity(quantity if replace else item.quantity + quantity)
                item.save(update_fields=["quantity"])
        return
    lines = _session_lines(session)
    key = str(listing.pk)
    lines[key] = clean_quantity(quantity if replace else lines.get(key, 0) + quantity)
    session[SESSION_KEY] = lines


def cart_remove(*, listing_id: int, shopper=None, session=None) -> None:
    if shopper is not None:
        CartItem.objects.filter(shopper=shopper, listing_id=listing_id).delete()
        return
    lines = _session_lines(session)
    lines.pop(str(listing_id), None)
    session[SESSION_KEY] = lines


def cart_clear(*, shopper=None, session=None, listing_ids=None) -> None:
    if shopper is not None:
        items = CartItem.objects.filter(shopper=shopper)
        if listing_ids is not None:
            items = items.filter(listing_id__in=list(listing_ids))
        items.delete()
    if session is not None:
        session[SESSION_KEY] = {}


def cart_merge_session(*, shopper, session) -> None:
    """Called on sign-in: the anonymous cart joins the shopper's, nothing lost."""
    lines = _session_lines(session)
    if not lines:
        return
    with transaction.atomic():
        existing = {i.listing_id: i for i in CartItem.objects.filter(shopper=shopper)}
        for key, qty in lines.items():
            item = existing.get(int(key))
            if item:
                item.quantity = min(item.quantity + qty, MAX_QUANTITY)
                item.save(update_fields=["quantity"])
            else:
                try:
                    listing = listing_visible(listing_id=int(key))
                except DomainError:  # gone since: drop it
                    continue
                CartItem.objects.create(shopper=shopper, listing=listing, quantity=qty)
    session[SESSION_KEY] = {}
