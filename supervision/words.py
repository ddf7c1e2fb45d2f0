"""Rule codes and stored reasons as words in the reader's language.

Reasons are stored as the services wrote them (English phrases with the authority's own text
inside): "CEB621 (customs): <returnInfo>", "three-order comparison: ...", "merchant grade B:
sampled for inspection at 10%". The dashboard shows them in the page's language: the frame is
ours and translated, the authority's words stay as received.
"""

from __future__ import annotations

import re

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customs.models import Declaration

RULE_NAMES = {
    "party_registered": gettext_lazy("party not registered or suspended"),
    "positive_list": gettext_lazy("not on the positive list"),
    "prohibited": gettext_lazy("prohibited goods"),
    "high_risk_inspection": gettext_lazy("high-risk goods inspected"),
    "yearly_cap": gettext_lazy("yearly quantity cap"),
    "three_order": gettext_lazy("three-order comparison"),
    "tax_recompute": gettext_lazy("tax recomputed differs"),
    "frequent_buyer": gettext_lazy("one ID buying unusually often"),
    "shared_phone": gettext_lazy("many IDs sharing one phone"),
    "shared_address": gettext_lazy("many IDs sharing one address"),
    "under_priced": gettext_lazy("price far under reference"),
    "missing_freight": gettext_lazy("delivery without freight or insurance"),
    "merchant_rejections": gettext_lazy("repeated rejections per merchant"),
    "grade_sampling": gettext_lazy("sampled by merchant grade"),
    "enterprise_grade": gettext_lazy("merchant grading"),
}


def rule_words(code: str) -> str:
    name = RULE_NAMES.get(code)
    return str(name) if name is not None else code.replace("_", " ")


_AUTHORITY = re.compile(r"^(?P<msg>CEB\d{3}) \((?P<authority>customs|ciq)\): (?P<why>.*)$", re.S)
_THREE_ORDER = re.compile(r"^three-order comparison: (?P<what>.*)$", re.S)
_GRADE = re.compile(r"^merchant grade (?P<grade>[A-D]): sampled for inspection at (?P<rate>\S+)$")
_HIGH_RISK = re.compile(r"^HS (?P<code>\S+) \((?P<what>.*)\) is high risk: inspect$", re.S)


def _english_state_labels() -> dict[str, str]:
    with translation.override("en"):
        return {str(label): value for value, label in Declaration.State.choices}


def reason_words(reason: str) -> str:
    """The stored reason in the active language; unknown text is kept as written."""
    if not reason:
        return _("no reason given")
    if m := _AUTHORITY.match(reason):
        why = m["why"]
        state = _english_state_labels().get(why)
        if state is not None:
            why = str(Declaration.State(state).label)
        elif why == "rejected":
            why = _("rejected")
        return _("%(message)s from %(authority)s: %(why)s") % {
            "message": m["msg"],
            "authority": str(Declaration.Authority(m["authority"]).label),
            "why": why,
        }
    if m := _THREE_ORDER.match(reason):
        return _("three-order comparison: %(what)s") % {"what": m["what"]}
    if m := _GRADE.match(reason):
        return _("merchant grade %(grade)s: sampled for inspection at %(rate)s") % {
            "grade": m["grade"],
            "rate": m["rate"],
        }
    if m := _HIGH_RISK.match(reason):
        return _("HS %(code)s (%(what)s) is high risk: inspected") % {
            "code": m["code"],
            "what": m["what"],
        }
    return reason
