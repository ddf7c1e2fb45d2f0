"""The dashboard's charts and words: a panel's ECharts spec goes to the page through
`json_script` (static/js/supervision_charts.js draws it); reasons and rules as words."""

from django import template

from supervision import words

register = template.Library()


@register.filter
def reason_words(reason: str) -> str:
    return words.reason_words(reason)


@register.filter
def rule_words(code: str) -> str:
    return words.rule_words(code)
