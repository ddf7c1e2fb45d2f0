from dataclasses import dataclass

import pytest

from bonded.models import GoodsItem, Location, Warehouse
from bonded.services import StockLine, stock_receive
from tests.bonded.factories import GoodsItemFactory, LocationFactory, WarehouseFactory


@dataclass
class Zone:
    warehouse: Warehouse
    storage: Location
    inspection: Location
    counter: Location
    outside_counter: Location
    dock: Location
    items: list[GoodsItem]


def build_zone(*, items: int = 3, stock: int = 10) -> Zone:
    warehouse = WarehouseFactory(code="ZZ", ems_no="T4601W000001")
    zone = Zone(
        warehouse=warehouse,
        storage=LocationFactory(code="ZZ-A", warehouse=warehouse),
        inspection=LocationFactory(code="ZZ-INSP", kind="inspection", warehouse=warehouse),
        counter=LocationFactory(
            code="C1", kind="counter", warehouse=warehouse, inside_supervision_zone=True
        ),
        outside_counter=LocationFactory(
            code="C-CITY", kind="counter", warehouse=warehouse, inside_supervision_zone=False
        ),
        dock=LocationFactory(code="ZZ-DOCK", kind="dock", warehouse=warehouse),
        items=[GoodsItemFactory() for _ in range(items)],
    )
    if stock:
        stock_receive(
            reference="RCV-INITIAL",
            location_code="ZZ-A",
            entry_declaration_no="ENTRY-0001",
            lines=[StockLine(item.item_no, stock) for item in zone.items],
            actor="test",
        )
    return zone


@pytest.fixture
def zone(db) -> Zone:
    return build_zone()
