from marketplace.models.carts import CartItem
from marketplace.models.catalog import Brand, Category, Listing, TaxCategory
from marketplace.models.merchant_views import MerchantStock, ReturnRequest, Settlement
from marketplace.models.merchants import Merchant, MerchantStaff
from marketplace.models.orders import Order, OrderEvent, OrderLine, PlacementKey
from marketplace.models.payments import NotificationNonce, Payment, Refund, SandboxCharge
from marketplace.models.shoppers import Shopper
from marketplace.models.stats import JourneyDay, JourneyRollupMark
from marketplace.models.sweeps import ClearanceSyncFailure, SweepMark

__all__ = [
    "Brand",
    "CartItem",
    "Category",
    "ClearanceSyncFailure",
    "JourneyDay",
    "JourneyRollupMark",
    "Listing",
    "Merchant",
    "MerchantStaff",
    "MerchantStock",
    "NotificationNonce",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Payment",
    "PlacementKey",
    "Refund",
    "ReturnRequest",
    "SandboxCharge",
    "Settlement",
    "Shopper",
    "SweepMark",
    "TaxCategory",
]
