"""What each staff role may open in the admin. The lists are the roles' definition: the demo
seed grants them to its groups, an operator grants the same to production groups."""

# Merchant staff act for one merchant (MerchantStaff); every admin below is scoped to it.
MERCHANT_STAFF_PERMISSIONS = [
    "view_merchant",
    "view_listing",
    "change_listing",
    "view_order",
    "change_order",  # the order actions (cancel with refund, re-read clearance, pay refunds)
    "view_refund",
    "view_returnrequest",
    "view_merchantstock",
    "view_settlement",
]

PLATFORM_STAFF_PERMISSIONS = [
    f"{action}_{model}"
    for action in ("view", "add", "change")
    for model in ("merchant", "merchantstaff", "listing", "taxcategory", "category", "brand")
] + [
    "view_shopper",
    "view_order",
    "view_refund",
    "view_returnrequest",
    "view_merchantstock",
    "view_settlement",
]
