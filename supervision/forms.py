"""The dashboard's filters: date range (Asia/Shanghai days, end inclusive), merchant, counter."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bonded.selectors import pickup_counters
from customs.selectors_stats import Scope
from marketplace.models import Merchant

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 400  # a year and a bit: the panels are built (and benchmarked) for that


class FilterForm(forms.Form):
    start = forms.DateField(label=_("from"), required=False)
    end = forms.DateField(label=_("to (inclusive)"), required=False)
    merchant = forms.ChoiceField(label=_("merchant"), required=False)
    counter = forms.ChoiceField(label=_("Counter"), required=False)
    bucket = forms.ChoiceField(
        label=_("per"),
        required=False,
        choices=[("day", _("day")), ("hour", _("hour")), ("month", _("month"))],
    )

    def __init__(self, *args, access, **kwargs):
        super().__init__(*args, **kwargs)
        self.access = access
        self.fields["merchant"].choices = [("", _("all merchants"))] + [
            (m.code, f"{m.code} {m.name}") for m in Merchant.objects.order_by("code")
        ]
        self.fields["counter"].choices = [("", _("all counters"))] + [
            (c.code, c.code) for c in pickup_counters(inside_zone_only=False)
        ]
        if not access.is_platform:
            del self.fields["merchant"]

    def clean(self):
        data = super().clean()
        today = timezone.localtime(timezone.now(), SHANGHAI).date()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=29)
        if start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        data["start"], data["end"] = start, end
        data["bucket"] = data.get("bucket") or "day"
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data
        ebc = self.access.ebc_code or data.get("merchant") or None
        return Scope(
            start=dt.datetime.combine(data["start"], dt.time.min, tzinfo=SHANGHAI),
            end=dt.datetime.combine(
                data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI
            ),
            ebc_code=ebc,
            counter=data.get("counter") or None,
        )
