"""Inline SVG charts under the strict CSP: their one <style> block gets the response's nonce."""

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def with_nonce(svg, nonce) -> str:
    # Only our own pygal output reaches here (already marked safe); anything else is escaped.
    if not isinstance(svg, SafeString) or not nonce:
        return svg
    return mark_safe(svg.replace("<style", f'<style nonce="{nonce}"'))  # noqa: S308
