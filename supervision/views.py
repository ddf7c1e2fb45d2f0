"""Dashboard pages: validate the filters, build the panels, render (or export one as CSV)."""

from __future__ import annotations

import csv
import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from customs import selectors_stats as stats
from customs.models import Enterprise
from customs.selectors_stats import Scope
from customs.services.grading import (
    enterprise_grade_override,
    inspection_rate,
)
from supervision import charts, panels
from supervision.access import supervision_view
from supervision.forms import SHANGHAI, FilterForm


def _filters(request) -> FilterForm:
    form = FilterForm(request.GET or None, access=request.supervision)
    if not form.is_bound or not form.is_valid():
        default = FilterForm({}, access=request.supervision)
        default.is_valid()
        if form.is_bound:
            default._errors = form.errors  # show what was wrong, use the defaults
        return default
    return form


def _csv(panel: panels.Panel, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly with a BOM
    writer = csv.writer(response)
    writer.writerow(panel.columns)
    writer.writerows(panel.rows)
    return response


@supervision_view
def dashboard(request):
    access = request.supervision
    form = _filters(request)
    scope, bucket = form.scope(), form.cleaned_data["bucket"]
    keys = panels.panels_for(access)
    wanted = request.GET.get("panel")
    if request.GET.get("format") == "csv":
        if wanted not in keys:
            raise Http404
        return _csv(panels.build(wanted, scope, bucket, access), f"bondport-{wanted}")
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("panel", None)
    return render(
        request,
        "supervision/dashboard.html",
        {
            "form": form,
            "access": access,
            "scope": scope,
            "panels": [panels.build(key, scope, bucket, access) for key in keys],
            "query": query.urlencode(),
        },
    )


def _profile_scope(request, code: str) -> tuple[FilterForm, Scope]:
    form = _filters(request)
    scope = form.scope()
    if "start" not in request.GET:  # a profile looks back a year by default
        end = scope.end
        scope = Scope(end - dt.timedelta(days=365), end, code, scope.counter)
    return form, Scope(scope.start, scope.end, code, scope.counter)


@supervision_view
def enterprise_list(request):
    access = request.supervision
    if not access.is_platform:
        return redirect("supervision:enterprise", code=access.ebc_code)
    rows = stats.merchant_enterprises().order_by("code")
    return render(
        request,
        "supervision/enterprise_list.html",
        {"enterprises": rows, "access": access},
    )


@supervision_view
def enterprise_profile(request, code: str):
    access = request.supervision
    if not access.is_platform and access.ebc_code != code:
        raise Http404  # another merchant's profile does not exist for this login
    enterprise = stats.merchant_enterprises().filter(code=code).first()
    if enterprise is None:
        raise Http404
    form, scope = _profile_scope(request, code)
    history = stats.enterprise_history(scope)
    monthly = stats.declarations_by_period(scope, bucket="month")
    panel = panels.Panel(
        "monthly",
        _("Declarations per month"),
        [_("period"), _("declarations"), _("goods value (yuan)")],
        [[r.bucket.strftime("%Y-%m"), r.declarations, r.goods_value] for r in monthly],
    )
    if monthly:
        panel.chart = charts.bar(
            [row[0] for row in panel.rows],
            {_("declarations"): [row[1] for row in panel.rows]},
            secondary={_("goods value (yuan)"): [row[2] for row in panel.rows]},
            label_kind="month",
        )
    if request.GET.get("format") == "csv":
        return _csv(panel, f"bondport-{code}-monthly")
    grade = enterprise.effective_grade
    return render(
        request,
        "supervision/enterprise.html",
        {
            "access": access,
            "enterprise": enterprise,
            "history": history,
            "hits_by_rule": sorted(history.hits_by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
            "panel": panel,
            "scope": scope,
            "scope_end_day": (scope.end - dt.timedelta(seconds=1)).astimezone(SHANGHAI).date(),
            "grade": grade,
            "rate": inspection_rate(grade),
            "grades": Enterprise.Grade.choices,
            "form": form,
            "now": timezone.now(),
        },
    )


@require_POST
@supervision_view
def enterprise_grade(request, code: str):
    if not request.supervision.is_platform:
        raise Http404
    try:
        enterprise_grade_override(
            code=code,
            grade=request.POST.get("grade", ""),
            reason=request.POST.get("reason", "").strip(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Grade saved; the pre-audit uses it from the next order."))
    return redirect("supervision:enterprise", code=code)
