"""Staff roles as Django groups, and the demo people who hold them."""

from dataclasses import dataclass

PLATFORM_STAFF = "Platform staff"
MERCHANT_STAFF = "Merchant staff"
WAREHOUSE_OPERATOR = "Warehouse operator"
CUSTOMS_OFFICER = "Customs liaison"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str | None  # None: superuser
    description: str


DEMO_PASSWORD = "bondport-demo"  # noqa: S105 - printed by `make run`; demo data only

DEMO_USERS = [
    DemoUser("admin", DEMO_PASSWORD, None, "superuser"),
    DemoUser("platform", DEMO_PASSWORD, PLATFORM_STAFF, "platform staff: sees everything"),
    DemoUser(
        "warehouse",
        DEMO_PASSWORD,
        WAREHOUSE_OPERATOR,
        "warehouse operator: stock, stocktakes, /warehouse/ picking",
    ),
    DemoUser(
        "customs",
        DEMO_PASSWORD,
        CUSTOMS_OFFICER,
        "customs liaison and officer: declarations, inspection decisions",
    ),
    DemoUser("merchant-au", DEMO_PASSWORD, MERCHANT_STAFF, "Aussie Nature Co. (4101960001) only"),
    DemoUser("merchant-de", DEMO_PASSWORD, MERCHANT_STAFF, "Rhein Dairy GmbH (4101960002) only"),
    DemoUser("merchant-jp", DEMO_PASSWORD, MERCHANT_STAFF, "Sakura Beauty KK (4101960003) only"),
]

# Storefront shoppers (sign in at / with the username or the mobile number, same password).
DEMO_SHOPPERS = [
    ("shopper1", "13800000001", "**************002X"),
    ("shopper2", "13800000002", "**************0014"),
    ("shopper3", "13800000003", "**************0071"),
    ("shopper4", "13800000004", "**************8241"),
]
