"""Demo data steps, in dependency order. Each returns how many records it created."""

from collections import defaultdict
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from bonded.models import GoodsItem, Location, Move, Warehouse
from bonded.services import StockLine, stock_receive
from demo import dispatch_seed, marketplace_seed
from demo.catalog import demo_items
from demo.roles import CUSTOMS_OFFICER, DEMO_USERS, WAREHOUSE_OPERATOR

WAREHOUSE = {
    "code": "ZZBLC",
    "name": "郑州保税物流中心 Zhengzhou Bonded Logistics Centre",
    "area_code": "4612",
    "ems_no": "T4612W000001",
    "address": "河南省郑州市经开区 Zhengzhou Economic-Technological Development Zone, Henan",
}
STORAGE_CODE = "ZZ-A"
LOCATIONS = [
    # code, kind, name_zh, name_en, inside zone, walk order, address zh/en, hours
    ("ZZ-A", "storage", "保税仓 A 区", "Bonded storage zone A", True, 1, "", "", ""),
    ("ZZ-B", "storage", "保税仓 B 区", "Bonded storage zone B", True, 2, "", "", ""),
    ("ZZ-INSP", "inspection", "查验区", "Inspection hold", True, 0, "", "", ""),
    ("ZZ-DOCK", "dock", "出区发货台", "Outbound dock", True, 9, "", "", ""),
    ("C-ZZ1", "counter", "保税体验店 1 号提货柜台", "Experience store counter 1", True, 0,
     "郑州保税物流中心体验店一楼", "Experience store, ground floor, Bonded Logistics Centre",
     "09:00-21:00"),
    ("C-ZZ2", "counter", "保税体验店 2 号提货柜台", "Experience store counter 2", True, 0,
     "郑州保税物流中心体验店二楼", "Experience store, first floor, Bonded Logistics Centre",
     "10:00-20:00"),
    # Outside the special supervision zone: shown to explain why bonded pickup is not offered.
    ("C-CITY", "counter", "市区展示厅", "City showroom (display only)", False, 0,
     "郑州市金水区花园路", "Huayuan Road, Jinshui District, Zhengzhou", "10:00-22:00"),
]  # fmt: skip


def seed_staff() -> int:
    User = get_user_model()
    created = 0
    for demo in DEMO_USERS:
        user, new = User.objects.get_or_create(
            username=demo.username, defaults={"is_staff": True, "is_superuser": demo.role is None}
        )
        if new:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
            created += 1
        if demo.role:
            group, group_new = Group.objects.get_or_create(name=demo.role)
            created += group_new
            user.groups.add(group)
    _grant_customs_liaison()
    _grant_customs_officer()
    _grant_warehouse_operator()
    return created


def _grant_customs_officer() -> None:
    """The demo customs login is also a customs officer: only officers decide inspections
    (platform staff and the superuser do not; see customs.roles)."""
    from customs.roles import officer_group

    group = officer_group()
    names = [demo.username for demo in DEMO_USERS if demo.role == CUSTOMS_OFFICER]
    for user in get_user_model().objects.filter(username__in=names):
        user.groups.add(group)


def _grant_warehouse_operator() -> None:
    """The warehouse operator keeps the stock: reads the ledger, receives goods and counts
    locations (stocktakes, whose lines pick the item by search, so goods items are readable)."""
    group, _ = Group.objects.get_or_create(name=WAREHOUSE_OPERATOR)
    bonded = Permission.objects.filter(content_type__app_label="bonded")
    group.permissions.add(
        *bonded.filter(codename__startswith="view_"),
        *bonded.filter(
            codename__in=[
                "add_stocktake",
                "change_stocktake",
                "add_stocktakeline",
                "change_stocktakeline",
                "delete_stocktakeline",
            ]
        ),
    )


def _grant_customs_liaison() -> None:
    """The customs liaison reads every filing, keeps the risk rules
    and enterprise grades (the clearance API asks for customs.view_orderclearance)."""
    group, _ = Group.objects.get_or_create(name=CUSTOMS_OFFICER)
    customs_perms = Permission.objects.filter(content_type__app_label="customs")
    group.permissions.add(
        *customs_perms.filter(codename__startswith="view_"),
        *customs_perms.filter(
            codename__in=[
                "change_declaration",
                "add_riskrule",
                "change_riskrule",
                "change_enterprise",
            ]
        ),
    )


def seed_zone() -> int:
    warehouse, created = Warehouse.objects.get_or_create(code=WAREHOUSE["code"], defaults=WAREHOUSE)
    count = int(created)
    for code, kind, name_zh, name_en, inside, walk, addr_zh, addr_en, hours in LOCATIONS:
        _, new = Location.objects.get_or_create(
            code=code,
            defaults={
                "kind": kind,
                "warehouse": warehouse,
                "name_zh": name_zh,
                "name_en": name_en,
                "inside_supervision_zone": inside,
                "pick_sequence": walk,
                "address_zh": addr_zh,
                "address_en": addr_en,
                "opening_hours": hours,
            },
        )
        count += new
    return count


def seed_items() -> int:
    existing = set(GoodsItem.objects.values_list("item_no", flat=True))
    taken_barcodes = set(GoodsItem.objects.values_list("barcode", flat=True))
    fresh = [
        GoodsItem(
            item_no=d.item_no,
            barcode=d.barcode,
            name_zh=d.name_zh,
            name_en=d.name_en,
            hs_code=d.hs_code,
            origin_country=d.origin_country,
            owner_code=d.owner_code,
            net_weight_kg=d.net_weight_kg,
            gross_weight_kg=d.gross_weight_kg,
        )
        for d in demo_items()
        if d.item_no not in existing and d.barcode not in taken_barcodes
    ]
    GoodsItem.objects.bulk_create(fresh)
    return len(fresh)


def seed_stock() -> int:
    """One entry declaration per merchant brings its goods into bond (idempotent by reference)."""
    by_merchant: dict[str, list[StockLine]] = defaultdict(list)
    for d in demo_items():
        by_merchant[d.owner_code].append(StockLine(d.item_no, d.initial_stock))
    before = Move.objects.count()
    for n, (merchant, lines) in enumerate(sorted(by_merchant.items()), start=1):
        stock_receive(
            reference=f"DEMO-RCV-{merchant}",
            location_code=STORAGE_CODE,
            entry_declaration_no=f"46122026I{n:09d}",
            lines=lines,
            actor="seed_demo",
        )
    return Move.objects.count() - before


ENTERPRISES = [
    # role, code, name, country
    ("platform", "4101260001", "Bondport 保税港", "CN"),
    ("merchant", "4101960001", "Aussie Nature Co.", "AU"),
    ("merchant", "4101960002", "Rhein Dairy GmbH", "DE"),
    ("merchant", "4101960003", "Sakura Beauty KK", "JP"),
    ("merchant", "4101960004", "Liberty Vitamins Inc.", "US"),
    ("payment", "4101990001", "Bondport Pay (sandbox)", "CN"),
    ("logistics", "4101980001", "Zhongyuan Express", "CN"),
    ("agent", "4101970001", "Henan Bonded Customs Brokerage", "CN"),
]
POSITIVE_LIST_EDITION = ("跨境电商零售进口商品清单 2026 (demo)", date(2026, 1, 1))
POSITIVE_LIST = [
    # HS code, description, quarantine-sensitive
    ("0402210000", "milk powder / infant formula", True),
    ("1901101000", "infant formula preparations", True),
    ("3304990099", "cosmetics, serums and creams", True),
    ("3304100000", "lip make-up preparations", False),
    ("2106909090", "food supplements, vitamins", True),
    ("3306101000", "toothpaste", False),
    ("0409000000", "natural honey", True),
    ("3401300000", "skin wash preparations", False),
    ("9619001100", "diapers", False),
    ("2204210000", "wine in containers of 2 l or less", True),
    ("1806320000", "chocolate", True),
    ("6403990000", "footwear with leather uppers", False),
]


def seed_customs_registry() -> int:
    """Register the demo parties with customs and publish the positive-list edition."""
    from customs.models import Enterprise, PositiveListEdition, PositiveListEntry

    created = 0
    for role, code, name, country in ENTERPRISES:
        _, new = Enterprise.objects.get_or_create(
            role=role, code=code, defaults={"name": name, "country": country}
        )
        created += new
    name, valid_from = POSITIVE_LIST_EDITION
    edition, new = PositiveListEdition.objects.get_or_create(
        name=name, defaults={"valid_from": valid_from}
    )
    created += new
    for hs_code, description, quarantine in POSITIVE_LIST:
        _, new = PositiveListEntry.objects.get_or_create(
            edition=edition,
            hs_code=hs_code,
            defaults={"description": description, "quarantine": quarantine},
        )
        created += new
    return created


# Fixed, public demo keys so `make run` users can open the kiosk (printed by demo_info).
# Real kiosks get random keys from the admin or `manage.py kiosk_create`.
DEMO_KIOSKS = [("C-ZZ1", "kiosk-demo-c-zz1"), ("C-ZZ2", "kiosk-demo-c-zz2")]


def seed_kiosks() -> int:
    """One kiosk per counter inside the zone, keyed with its demo key, and pickup codes for the
    demo's pickup orders (idempotent)."""
    from pickup.models import Kiosk
    from pickup.selectors import pickup_orders_without_code
    from pickup.services import kiosk_create, pickup_code_issue
    from pickup.services.kiosks import key_hash

    created = 0
    for counter_code, key in DEMO_KIOSKS:
        if Kiosk.objects.filter(key_hash=key_hash(key)).exists():
            continue
        kiosk_create(
            name=f"Demo kiosk {counter_code}", counter_code=counter_code, actor="seed_demo", key=key
        )
        created += 1
    for order in pickup_orders_without_code():
        pickup_code_issue(order=order)
        created += 1
    return created


STEPS = [
    ("staff", seed_staff),
    ("bonded zone", seed_zone),
    ("goods items", seed_items),
    ("stock receipts", seed_stock),
    ("customs registry", seed_customs_registry),
    # Marketplace steps run after bonded's (items must exist to be listed).
    *marketplace_seed.STEPS,
    ("kiosks", seed_kiosks),
    *dispatch_seed.STEPS,
]
