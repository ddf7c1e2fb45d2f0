"""Storefront: merchants, shoppers, catalog, cart, checkout, tax, orders, payments."""
