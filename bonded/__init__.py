"""Bonded warehouse: items, locations, stock ledger, reservations, customs account book."""
