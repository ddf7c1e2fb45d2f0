"""Reads of shoppers. Lookups by resident ID go through its keyed hash, never the ciphertext."""

from config.crypto import keyed_hash
from marketplace.models import Shopper


def shopper_for_user(user) -> Shopper | None:
    if not getattr(user, "is_authenticated", False):
        return None
    # Already read with the user (the API token's read joins it in): no statement.
    state = getattr(user, "_state", None)
    if state is not None and "shopper" in state.fields_cache:
        return state.fields_cache["shopper"]  # None: read, and there is none
    # The user joined in: placing an order files the buyer's login (one statement less).
    return Shopper.objects.select_related("user").filter(user=user).first()


def shopper_by_resident_id(resident_id: str) -> Shopper | None:
    """For the kiosk's identity check: the shopper registered with this ID, if any."""
    return (
        Shopper.objects.select_related("user")
        .filter(resident_id_hash=keyed_hash(resident_id.strip().upper()))
        .first()
    )
