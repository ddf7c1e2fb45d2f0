"""Marketplace writes and business rules, one module per sub-domain."""
