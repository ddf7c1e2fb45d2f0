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
        "warehouse", DEMO_PASSWORD, WAREHOUSE_OPERATOR, "warehouse operator: stock, stocktakes"
    ),
    DemoUser(
        "customs", DEMO_PASSWORD, CUSTOMS_OFFICER, "customs liaison: declarations, inspection"
    ),
]
