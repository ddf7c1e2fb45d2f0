"""Customs admin: declarations with their XML, receipts, the inspection queue, rules and hits.

State changes go through services (inspection decisions); declarations and receipts are
read-only here because they are what was filed and what the authorities answered.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from customs import messages as ceb
from customs import services
from customs.models import (
    ClearanceEvent,
    Declaration,
    Enterprise,
    ExchangeFile,
    GatewayMessage,
    InspectionDecision,
    InspectionQueue,
    OrderClearance,
    PositiveListEdition,
    PositiveListEntry,
    RealtimeQuery,
    Receipt,
    ReturnIntake,
    RiskHit,
    RiskRule,
)
from customs.records import record_for
from customs.roles import is_customs_officer


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReceiptInline(admin.TabularInline):
    model = Receipt
    fields = ["return_status", "return_info", "authority", "source", "received_at", "outcome"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["received_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class OverdueFilter(admin.SimpleListFilter):
    """Accepted declarations the authority stopped answering (customs.services.overdue)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [
            ("staff", _("overdue, needs staff")),
            ("asking", _("overdue, being asked again")),
        ]

    def queryset(self, request, queryset):
        from customs.services.overdue import declarations_being_asked, declarations_needing_staff

        if self.value() == "staff":
            return queryset.filter(pk__in=declarations_needing_staff().values("pk"))
        if self.value() == "asking":
            return queryset.filter(pk__in=declarations_being_asked().values("pk"))
        return queryset


@admin.register(Declaration)
class DeclarationAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "kind", "authority", "state", "return_status", "ebc_code",
                    "attempts", "created_at", "sent_at", "needs_staff_display"]  # fmt: skip
    list_filter = [OverdueFilter, "state", "kind", "authority", "ebc_code", "created_at"]
    actions = ["requery"]
    search_fields = ["order_no", "guid", "business_no"]
    date_hierarchy = "created_at"
    exclude = ["id_number", "id_hash", "payload", "lease_token"]
    readonly_fields = ["xml_preview", "masked_id"]
    inlines = [ReceiptInline]

    class Media:
        css = {"all": ["css/admin.css"]}  # a style sheet, not a style attribute: strict CSP

    @admin.display(description=_("needs staff"))
    def needs_staff_display(self, obj):
        return obj.needs_staff_reason if obj.needs_staff else ""

    def has_requery_permission(self, request):
        return request.user.has_perm("customs.change_declaration")

    @admin.action(description=_("Ask the authority again (overdue declarations)"),
                  permissions=["requery"])  # fmt: skip
    def requery(self, request, queryset):
        from customs.services.overdue import declarations_requery

        n = declarations_requery(declaration_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(n)d handed back to the overdue check.") % {"n": n})

    @admin.display(description=_("resident ID"))
    def masked_id(self, obj):
        from config.crypto import mask_id

        return mask_id(obj.id_number) if obj.id_number else "-"

    @admin.display(description=_("XML (resident ID masked)"))
    def xml_preview(self, obj):
        xml = ceb.render(
            message_type=obj.message_type,
            guid=obj.message.guid if obj.message else obj.guid,
            records=[record_for(obj, masked=True)],
            sender_code="4101260001",
            sender_name="Bondport",
        ).decode()
        return format_html('<pre class="bp-xml">{}</pre>', _pretty(xml))


def _pretty(xml: str) -> str:
    from lxml import etree

    return etree.tostring(etree.fromstring(xml.encode()), pretty_print=True).decode()


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent to the authority with the decision and kept with it."),
    )


class OfficerOnly:
    """Inspection decisions are customs': the actions exist only for customs officers."""

    def has_record_inspection_decision_permission(self, request) -> bool:
        return is_customs_officer(request.user)


@admin.register(InspectionQueue)
class InspectionQueueAdmin(OfficerOnly, ReadOnlyAdmin):
    list_display = ["order_no", "authority", "state", "authority_said", "ebc_code",
                    "latest_decision", "state_changed_at"]  # fmt: skip
    list_filter = ["authority", "state", "ebc_code"]
    search_fields = ["order_no"]
    actions = ["release", "reject"]
    fields = ["order_no", "authority", "state", "return_info", "ebc_code"]

    @admin.display(description=_("return info"))
    def authority_said(self, obj):
        """The authority's words as it sent them (marked so they are not taken for ours)."""
        return format_html("<q data-verbatim>{}</q>", obj.return_info) if obj.return_info else ""

    def get_queryset(self, request):
        from customs.selectors import inspection_queue

        return inspection_queue().prefetch_related("inspection_decisions")

    @admin.display(description=_("decision"))
    def latest_decision(self, obj):
        rows = obj.inspection_decisions.all()  # prefetched, newest first
        if not rows:
            return "-"
        row = rows[0]
        text = f"{row.get_decision_display()}: {row.get_state_display()}"
        return f"{text} ({row.last_error})" if row.last_error else text

    def _decide(self, request, queryset, decision: str):
        """First the confirmation page (the selected lists, a reason); on confirming, record
        the decisions: nothing moves here until the authority's receipt comes back."""
        form = DecisionForm(request.POST if request.POST.get("confirm") else None)
        if not form.is_valid():
            label = InspectionDecision.Decision(decision).label
            context = {
                **self.admin_site.each_context(request),
                "title": _("Confirm: %(decision)s after inspection") % {"decision": label},
                "opts": self.model._meta,
                "queryset": queryset,
                "decision": decision,
                "decision_label": label,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/customs/inspection_decision.html", context)
        done = 0
        for decl in queryset:
            try:
                services.inspection_decision_record(
                    declaration_id=decl.pk,
                    decision=decision,
                    reason=form.cleaned_data["reason"],
                    officer=request.user,
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{decl.order_no}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                _(
                    "%(n)d decisions sent to the authority; the orders move when its receipt "
                    "comes back."
                )
                % {"n": done},
            )
        return None

    @admin.action(
        description=_("Release after inspection…"), permissions=["record_inspection_decision"]
    )
    def release(self, request, queryset):
        return self._decide(request, queryset, "release")

    @admin.action(
        description=_("Reject after inspection…"), permissions=["record_inspection_decision"]
    )
    def reject(self, request, queryset):
        return self._decide(request, queryset, "reject")


@admin.register(InspectionDecision)
class InspectionDecisionAdmin(OfficerOnly, ReadOnlyAdmin):
    """Every officer's decision; the unacknowledged ones (state: not yet acknowledged) are
    what the sweep is still sending, with their attempts and the last error."""

    list_display = ["order_no", "authority", "decision", "reason", "officer", "state",
                    "attempts", "last_error", "created_at", "last_attempt_at",
                    "answered_at"]  # fmt: skip
    list_filter = ["state", "decision", "declaration__authority", "created_at"]
    search_fields = ["declaration__order_no", "reason"]
    list_select_related = ["declaration", "officer"]
    actions = ["send_again"]

    @admin.display(description=_("order number"), ordering="declaration__order_no")
    def order_no(self, obj):
        return obj.declaration.order_no

    @admin.display(description=_("authority"))
    def authority(self, obj):
        return obj.declaration.get_authority_display()

    @admin.action(
        description=_("Send to the authority again now"),
        permissions=["record_inspection_decision"],
    )
    def send_again(self, request, queryset):
        from customs.errors import GatewayUnavailable

        for row in queryset.filter(state=InspectionDecision.State.PENDING):
            try:
                services.inspection_decision_send(decision_id=row.pk)
            except GatewayUnavailable as exc:
                self.message_user(request, f"{row.declaration.order_no}: {exc}", messages.WARNING)


class ClearanceEventInline(admin.TabularInline):
    model = ClearanceEvent
    fields = ["from_state", "to_state", "reason", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ClearanceNeedsStaffFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("staff", _("overdue, needs staff"))]

    def queryset(self, request, queryset):
        from customs.services.overdue import declarations_needing_staff

        if self.value() == "staff":
            return queryset.filter(order_no__in=declarations_needing_staff().values("order_no"))
        return queryset


@admin.register(OrderClearance)
class OrderClearanceAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "state", "reason", "ebc_code", "delivery_mode", "ciq_required",
                    "invt_no", "goods_released_at", "state_changed_at"]  # fmt: skip
    list_filter = [ClearanceNeedsStaffFilter, "state", "ebc_code", "delivery_mode", "ciq_required",
                   "created_at"]  # fmt: skip
    search_fields = ["order_no", "invt_no"]
    date_hierarchy = "created_at"
    inlines = [ClearanceEventInline]
    readonly_fields = ["needs_staff"]

    @admin.display(description=_("needs staff"))
    def needs_staff(self, obj):
        from customs.services.overdue import declarations_needing_staff

        flagged = declarations_needing_staff().filter(order_no=obj.order_no).order_by("pk")
        if not flagged:
            return "-"
        return format_html_join(
            "", "<p>{} ({}): {}</p>",
            ((d.message_type, d.authority, d.needs_staff_reason) for d in flagged),
        )  # fmt: skip


class ReturnStageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [
            ("awaiting", _("awaiting warehouse scan-in")),
            ("retrying", _("scanned in, retried by the sweep")),
            ("flagged", _("flagged: return into bond keeps failing")),
            ("done", _("back in bond")),
        ]

    def queryset(self, request, queryset):
        return {
            "awaiting": lambda q: q.filter(scanned_at__isnull=True),
            "retrying": lambda q: q.filter(
                scanned_at__isnull=False, into_bond_at__isnull=True, flagged_at__isnull=True
            ),
            "flagged": lambda q: q.filter(flagged_at__isnull=False, into_bond_at__isnull=True),
            "done": lambda q: q.filter(into_bond_at__isnull=False),
        }.get(self.value(), lambda q: q)(queryset)


@admin.register(ReturnIntake)
class ReturnIntakeAdmin(ReadOnlyAdmin):
    list_display = [
        "return_no", "order_no", "approved_at", "scanned_at", "scanned_by", "into_bond_at",
        "attempts", "last_error", "flagged_at",
    ]  # fmt: skip
    list_filter = [ReturnStageFilter]
    search_fields = ["return_no", "order_no"]
    actions = ["retry_now"]

    @admin.action(description=_("Retry the return into bond now"))
    def retry_now(self, request, queryset):
        done = sum(
            services.return_retry_flagged(return_no=r.return_no)
            for r in queryset.filter(scanned_at__isnull=False)
        )
        self.message_user(request, _("%(n)d back in bond.") % {"n": done})


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "return_status", "authority", "source", "outcome",
                    "received_at"]  # fmt: skip
    list_filter = ["return_status", "authority", "source", "outcome", "received_at"]
    search_fields = ["order_no", "decl_guid", "guid"]


@admin.register(GatewayMessage)
class GatewayMessageAdmin(ReadOnlyAdmin):
    list_display = ["guid", "message_type", "authority", "record_count", "http_status", "error",
                    "created_at"]  # fmt: skip
    list_filter = ["message_type", "authority", "http_status", "created_at"]
    search_fields = ["guid"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "role", "country", "suspended", "risk_grade",
                    "risk_grade_override"]  # fmt: skip
    list_filter = ["role", "suspended", "risk_grade", "risk_grade_override"]
    search_fields = ["code", "name"]
    # The computed grade is the ex-post rule's; staff set the override (used by the pre-audit).
    readonly_fields = ["risk_grade", "risk_graded_at"]


class PositiveListEntryInline(admin.TabularInline):
    model = PositiveListEntry
    extra = 0


@admin.register(PositiveListEdition)
class PositiveListEditionAdmin(admin.ModelAdmin):
    list_display = ["name", "valid_from", "valid_to"]
    inlines = [PositiveListEntryInline]


@admin.register(PositiveListEntry)
class PositiveListEntryAdmin(admin.ModelAdmin):
    list_display = ["hs_code", "description", "edition", "quarantine", "prohibited", "high_risk",
                    "yearly_cap_qty"]  # fmt: skip
    list_filter = ["edition", "quarantine", "prohibited", "high_risk"]
    search_fields = ["hs_code", "description"]


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "stage", "description", "enabled", "params"]
    list_filter = ["stage", "enabled"]
    actions = ["run_now"]

    @admin.action(description=_("Run the selected ex-post rules now"))
    def run_now(self, request, queryset):
        from customs.services.ex_post import ex_post_rules_run

        hits = ex_post_rules_run(codes=list(queryset.values_list("code", flat=True)))
        self.message_user(request, _("%(n)d hits.") % {"n": hits})


@admin.register(RiskHit)
class RiskHitAdmin(ReadOnlyAdmin):
    list_display = ["rule_code", "stage", "subject", "reason", "order_no", "ebc_code",
                    "created_at"]  # fmt: skip
    list_filter = ["rule_code", "stage", "ebc_code", "created_at"]
    search_fields = ["order_no", "subject", "reason"]
    date_hierarchy = "created_at"


@admin.register(ExchangeFile)
class ExchangeFileAdmin(ReadOnlyAdmin):
    """Receipt files taken from the E-Port inbox; a quarantined one says why and where it is
    kept (beside it, "<name>.reason"), for staff to look at and, once fixed, put back."""

    list_display = ["received_at", "name", "state", "message_type", "receipts", "reason"]
    list_filter = ["state", "message_type"]
    search_fields = ["name", "message_guid", "sha256"]
    fields = ["name", "state", "reason", "message_type", "message_guid", "receipts", "size",
              "sha256", "stored_at", "received_at"]  # fmt: skip
    actions = ["requeue"]

    @admin.action(description=_("Put back into the E-Port inbox"), permissions=["requeue"])
    def requeue(self, request, queryset):
        from customs.services.exchange import exchange_file_requeue

        done = sum(exchange_file_requeue(exchange_file=row) for row in queryset)
        self.message_user(request, _("%(n)d put back into the inbox.") % {"n": done})

    def has_requeue_permission(self, request) -> bool:
        return request.user.has_perm("customs.change_exchangefile")


@admin.register(RealtimeQuery)
class RealtimeQueryAdmin(ReadOnlyAdmin):
    """Customs' real-time data requests: what we uploaded (signed) and what customs said."""

    list_display = ["received_at", "order_no", "session_id", "state", "attempts", "uploaded_at"]
    list_filter = ["state"]
    search_fields = ["order_no", "session_id"]
    fields = ["order_no", "session_id", "service_time", "state", "attempts", "last_error",
              "uploaded", "answer", "received_at", "uploaded_at"]  # fmt: skip
