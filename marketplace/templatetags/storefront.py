"""Storefront template filters: money as ¥1,234.50 (Decimal, never float), percentages."""

from decimal import Decimal, InvalidOperation

from django import template

from marketplace.services.tax import to_fen

register = template.Library()


def format_cny(value) -> str:
    try:
        amount = to_fen(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def cny(value) -> str:
    return format_cny(value)


@register.filter
def percent(value) -> str:
    """0.0910 -> 9.1%, 0.230588 -> 23.06%."""
    try:
        pct = (Decimal(str(value)) * 100).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    text = f"{pct:f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def add_money(value, other) -> Decimal:
    return Decimal(str(value)) + Decimal(str(other))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
