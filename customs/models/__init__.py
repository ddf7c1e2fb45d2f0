from customs.models.clearance import ClearanceEvent, OrderClearance
from customs.models.declarations import (
    Declaration,
    DeclaredLine,
    GatewayCursor,
    GatewayMessage,
    InspectionQueue,
    Receipt,
    new_guid,
)
from customs.models.registry import Enterprise, PositiveListEdition, PositiveListEntry
from customs.models.rules import RiskHit, RiskRule

__all__ = [
    "ClearanceEvent",
    "Declaration",
    "DeclaredLine",
    "Enterprise",
    "GatewayCursor",
    "GatewayMessage",
    "InspectionQueue",
    "OrderClearance",
    "PositiveListEdition",
    "PositiveListEntry",
    "Receipt",
    "RiskHit",
    "RiskRule",
    "new_guid",
]
