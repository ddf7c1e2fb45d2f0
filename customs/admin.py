"""Customs admin: declarations with their XML, receipts, the inspection queue, rules and hits.

State changes go through services (inspection decisions); declarations and receipts are
read-only here because they are what was filed and what the authorities answered.
"""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from customs import messages as ceb
from customs import services
from customs.models import (
    ClearanceEvent,
    Declaration,
    Enterprise,
    GatewayMessage,
    InspectionQueue,
    OrderClearance,
    PositiveListEdition,
    PositiveListEntry,
    Receipt,
    RiskHit,
    RiskRule,
)
from customs.records import record_for


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


@admin.register(InspectionQueue)
class InspectionQueueAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "authority", "state", "return_info", "ebc_code",
                    "state_changed_at"]  # fmt: skip
    list_filter = ["authority", "state", "ebc_code"]
    search_fields = ["order_no"]
    actions = ["release", "reject"]
    fields = ["order_no", "authority", "state", "return_info", "ebc_code"]

    def get_queryset(self, request):
        from customs.selectors import inspection_queue

        return inspection_queue()

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("customs.change_declaration")

    def _decide(self, request, queryset, decision: str) -> None:
        done = 0
        for decl in queryset:
            try:
                services.inspection_decide(
                    declaration_id=decl.pk, decision=decision, actor=request.user.get_username()
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{decl.order_no}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(n)d decided.") % {"n": done})

    @admin.action(description=_("Release after inspection"))
    def release(self, request, queryset):
        self._decide(request, queryset, "release")

    @admin.action(description=_("Reject after inspection"))
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")


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
