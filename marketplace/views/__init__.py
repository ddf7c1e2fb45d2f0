"""Storefront pages: validate, call a service or selector, render."""
