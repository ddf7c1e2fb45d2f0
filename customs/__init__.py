"""Customs and CIQ filing: declarations, gateway, receipts, risk rules, sandbox."""
