"""Staff screens: waves, shipments (timeliness, requeue held ones), mismatches; read-only except
through the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from dispatch.models import (
    CourierEvent,
    Mismatch,
    PickLine,
    SandboxParcel,
    SandboxWaybill,
    Shipment,
    Wave,
    WaybillAllocation,
)
from dispatch.services import shipment_requeue


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PickLineInline(admin.TabularInline):
    model = PickLine
    extra = 0
    can_delete = False
    fields = ["gnum", "location_code", "item_no", "barcode", "quantity", "picked", "state"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MismatchInline(admin.TabularInline):
    model = Mismatch
    extra = 0
    can_delete = False
    fields = ["kind", "expected", "found", "created_at", "created_by", "resolution",
              "resolved_by", "resolved_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TimelinessFilter(admin.SimpleListFilter):
    title = _("timeliness")
    parameter_name = "timeliness"

    def lookups(self, request, model_admin):
        return [("at_risk", _("at risk or late, still in the warehouse"))]

    def queryset(self, request, queryset):
        if self.value() == "at_risk":
            from dispatch.selectors import shipments_at_risk

            return queryset.filter(pk__in=shipments_at_risk().values("pk"))
        return queryset


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["order_no", "wave", "state", "logistics_no", "released_at", "due_at",
                    "dispatched_at", "delivered_at", "hours_display",
                    "timeliness_display"]  # fmt: skip
    list_filter = ["state", TimelinessFilter, "warehouse_code"]
    search_fields = ["order_no", "logistics_no"]
    inlines = [PickLineInline, MismatchInline]
    actions = ["requeue"]
    readonly_fields = ["courier_label_display"]

    @admin.display(description=_("courier's label data"))
    def courier_label_display(self, obj) -> str:
        from dispatch.selectors import waybill_allocation

        allocation = waybill_allocation(obj.logistics_no)
        if allocation is None:
            return _("none: the platform's own waybill")
        a = allocation
        parts = (
            f"{a.logistics_name} ({a.logistics_code})",
            a.sort_code,
            a.destination_code,
            a.route,
        )
        return " · ".join(parts)

    @admin.display(description=_("release to dispatch (hours)"))
    def hours_display(self, obj) -> str:
        return f"{obj.release_to_dispatch().total_seconds() / 3600:.1f}"

    @admin.display(description=_("timeliness"))
    def timeliness_display(self, obj) -> str:
        return {"on_time": _("on time"), "at_risk": _("at risk"), "late": _("late")}[obj.timeliness]

    @admin.action(description=_("Back to the queue (held shipments, stock checked)"))
    def requeue(self, request, queryset):
        done = 0
        for shipment in queryset:
            try:
                shipment_requeue(shipment_id=shipment.pk, actor=request.user.get_username())
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{shipment.order_no}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d shipments back in the queue.") % {"n": done})


@admin.register(Wave)
class WaveAdmin(ReadOnlyAdmin):
    list_display = ["number", "day", "state", "created_by", "created_at", "closed_at"]
    list_filter = ["state", "day"]


@admin.register(Mismatch)
class MismatchAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "kind", "expected", "found", "created_at", "created_by",
                    "resolution", "resolved_at"]  # fmt: skip
    list_filter = ["kind", "resolution", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["shipment__order_no"]


@admin.register(SandboxParcel)
class SandboxParcelAdmin(ReadOnlyAdmin):
    list_display = ["logistics_no", "order_no", "collected_at", "delivered_at", "notified_at",
                    "notify_attempts"]  # fmt: skip


@admin.register(WaybillAllocation)
class WaybillAllocationAdmin(ReadOnlyAdmin):
    """What the courier answered when it allocated each waybill (its label data)."""

    list_display = ["logistics_no", "order_no", "logistics_name", "logistics_code", "sort_code",
                    "destination_code", "route", "allocated_at", "cancelled_at",
                    "cancel_error"]  # fmt: skip
    list_filter = ["logistics_code", ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["logistics_no", "order_no"]


@admin.register(CourierEvent)
class CourierEventAdmin(ReadOnlyAdmin):
    list_display = ["logistics_no", "status", "at", "event_id", "note", "received_at"]
    list_filter = ["status"]
    search_fields = ["logistics_no"]


@admin.register(SandboxWaybill)
class SandboxWaybillAdmin(ReadOnlyAdmin):
    list_display = ["logistics_no", "order_no", "district", "allocated_at", "cancelled_at"]
    search_fields = ["logistics_no", "order_no"]
