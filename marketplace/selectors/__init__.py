"""Marketplace reads, one module per sub-domain: no writes here."""
