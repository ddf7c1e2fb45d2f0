"""Orders in the admin: lines, events and the customs clearance (read through customs'
selectors); every change is an action calling a service, never a direct edit. Merchant staff
see only their own merchant's orders."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from customs import selectors as customs_selectors
from marketplace.models import Order, OrderEvent, OrderLine, Payment, Refund
from marketplace.selectors.merchants import merchant_for_staff
from marketplace.services.clearance import order_sync_clearance
from marketplace.services.orders import order_cancel
from marketplace.services.payments import refund_execute


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["gnum", "item_no", "barcode", "name_zh", "name_en", "quantity", "unit_price",
              "total_price", "tax"]  # fmt: skip
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["at", "from_state", "to_state", "actor", "note"]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["token", "state", "amount", "amount_paid", "transaction_id", "paid_at", "problem"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "shopper", "merchant", "state", "delivery_mode", "total_display",
                    "clearance_state", "flagged", "created_at"]  # fmt: skip
    list_filter = ["state", "delivery_mode", "flagged", "clearance_state"]
    list_select_related = ["shopper", "merchant"]
    search_fields = ["number"]
    readonly_fields = [f.name for f in Order._meta.fields] + ["clearance"]
    inlines = [OrderLineInline, OrderEventInline, PaymentInline]
    actions = ["cancel_orders", "sync_clearance", "retry_refunds"]

    def get_queryset(self, request):
        orders = super().get_queryset(request)
        own = merchant_for_staff(request.user)
        return orders.filter(merchant=own) if own else orders

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("to pay"))
    def total_display(self, obj: Order):
        return obj.total

    @admin.display(description=_("customs clearance"))
    def clearance(self, obj: Order):
        view = customs_selectors.order_clearance(obj.number)
        if view is None:
            return "-"
        rows = format_html_join(
            "", "<li>{} ({}): {} {}{}</li>",
            ((d.message_type, d.authority, d.state, d.return_info,
              f" · {_('needs staff')}: {d.needs_staff}" if d.needs_staff else "")
             for d in view.declarations),
        )  # fmt: skip
        return format_html("<strong>{}</strong> {}<ul>{}</ul>", view.state, view.reason, rows)

    def _each(self, request, queryset, action, done_message):
        done = 0
        for order in queryset.order_by("pk"):
            try:
                action(order)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Cancel the selected orders (refund, stock back)"),
                  permissions=["change"])  # fmt: skip
    def cancel_orders(self, request, queryset):
        actor = request.user.get_username()
        self._each(
            request, queryset,
            lambda o: order_cancel(order=o, actor=actor, reason=f"cancelled by staff {actor}"),
            _("%(n)s order(s) cancelled."),
        )  # fmt: skip

    @admin.action(description=_("Re-read the customs clearance now"), permissions=["change"])
    def sync_clearance(self, request, queryset):
        self._each(
            request, queryset, lambda o: order_sync_clearance(order_no=o.number),
            _("%(n)s order(s) re-read."),
        )  # fmt: skip

    @admin.action(description=_("Pay pending refunds through the provider"),
                  permissions=["change"])  # fmt: skip
    def retry_refunds(self, request, queryset):
        def run(order):
            for refund in Refund.objects.filter(payment__order=order, state="requested"):
                refund_execute(refund_id=refund.pk)

        self._each(request, queryset, run, _("Refunds paid for %(n)s order(s)."))


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["payment", "amount", "state", "reason", "created_at", "done_at"]
    list_filter = ["state"]
    readonly_fields = ["payment", "amount", "state", "reason", "created_at", "done_at", "error"]

    def get_queryset(self, request):
        refunds = super().get_queryset(request).select_related("payment__order")
        own = merchant_for_staff(request.user)
        return refunds.filter(payment__order__merchant=own) if own else refunds

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
