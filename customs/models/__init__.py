from customs.models.clearance import (
    ClearanceDay,
    ClearanceEvent,
    OrderClearance,
    ReturnIntake,
    RollupMark,
)
from customs.models.declarations import (
    Declaration,
    DeclaredLine,
    GatewayCursor,
    GatewayMessage,
    InspectionQueue,
    Receipt,
    new_guid,
)
from customs.models.exchange import ExchangeFile, RealtimeQuery
from customs.models.inspection import InspectionDecision
from customs.models.registry import Enterprise, PositiveListEdition, PositiveListEntry
from customs.models.rules import RiskHit, RiskRule

__all__ = [
    "ClearanceDay",
    "ClearanceEvent",
    "Declaration",
    "DeclaredLine",
    "Enterprise",
    "ExchangeFile",
    "GatewayCursor",
    "GatewayMessage",
    "InspectionDecision",
    "InspectionQueue",
    "OrderClearance",
    "PositiveListEdition",
    "PositiveListEntry",
    "RealtimeQuery",
    "Receipt",
    "ReturnIntake",
    "RiskHit",
    "RiskRule",
    "RollupMark",
    "new_guid",
]
