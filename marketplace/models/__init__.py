from marketplace.models.catalog import Brand, Category, Listing, TaxCategory
from marketplace.models.merchants import Merchant, MerchantStaff
from marketplace.models.orders import Order
from marketplace.models.shoppers import Shopper

__all__ = [
    "Brand",
    "Category",
    "Listing",
    "Merchant",
    "MerchantStaff",
    "Order",
    "Shopper",
    "TaxCategory",
]
