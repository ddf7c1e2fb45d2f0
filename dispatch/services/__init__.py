"""Writes of the warehouse: waves and picking, packing, dispatch and delivery."""

from dispatch.services.parcels import (
    courier_callback_verify,
    courier_nonces_prune,
    shipment_collect,
    shipment_delivered,
    shipment_dispatch,
    shipment_pack,
)
from dispatch.services.picking import (
    mismatch_resolve,
    pick_scan,
    pick_short,
    shipment_requeue,
    shipments_sync,
    wave_build,
)

__all__ = [
    "courier_callback_verify",
    "courier_nonces_prune",
    "mismatch_resolve",
    "pick_scan",
    "pick_short",
    "shipment_collect",
    "shipment_delivered",
    "shipment_dispatch",
    "shipment_pack",
    "shipment_requeue",
    "shipments_sync",
    "wave_build",
]
