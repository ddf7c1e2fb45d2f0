"""Every write to the ledger goes through these services (one transaction each, idempotent)."""

from bonded.services._ledger import StockLine
from bonded.services.account_book import BookLine, reconcile
from bonded.services.reservations import (
    Release,
    reservation_confirm,
    reservation_release,
    reservation_release_from_bond,
    reservations_expire,
    reservations_release_from_bond,
    stock_reserve,
)
from bonded.services.stock import stock_issue, stock_receive, stock_return_into_bond, stock_transfer
from bonded.services.stocktake import stocktake_count, stocktake_open, stocktake_post

__all__ = [
    "BookLine",
    "Release",
    "StockLine",
    "reconcile",
    "reservation_confirm",
    "reservation_release",
    "reservation_release_from_bond",
    "reservations_expire",
    "reservations_release_from_bond",
    "stock_issue",
    "stock_receive",
    "stock_reserve",
    "stock_return_into_bond",
    "stock_transfer",
    "stocktake_count",
    "stocktake_open",
    "stocktake_post",
]
