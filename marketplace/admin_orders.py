"""Orders in the admin: lines, events and the customs clearance (read through customs'
selectors); every change is an action calling a service, never a direct edit. Merchant staff
see only their own merchant's orders."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from customs import selectors as customs_selectors
from marketplace.admin_scope import MerchantScopedAdmin
from marketplace.models import ClearanceSyncFailure, Order, OrderEvent, OrderLine, Payment, Refund
from marketplace.selectors.merchants import merchant_for_staff
from marketplace.services.clearance import clearance_sync_retry
from marketplace.services.orders import order_cancel
from marketplace.services.payments import refund_execute


def _withdrawal(withdrawal) -> str:
    """Why a cancelled order is or is not withdrawn at customs (its CEB623)."""
    if withdrawal is None:
        return ""
    if withdrawal.state == "refused":
        text = _("Customs refused to withdraw this order's inventory list: %(why)s") % {
            "why": withdrawal.info
        }
        return format_html('<p class="errornote">{}</p>', text)
    text = {
        "confirmed": _("Customs confirmed the withdrawal of this order's inventory list."),
        "filed": _(
            "The withdrawal of this order's inventory list was filed with customs; waiting "
            "for its answer."
        ),
    }.get(
        withdrawal.state,
        _("The withdrawal of this order's inventory list is waiting to be sent to customs."),
    )
    return format_html("<p>{}</p>", text)


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


class ClearanceFilter(admin.SimpleListFilter):
    """The customs clearance in words (the column holds customs' state codes)."""

    title = _("customs clearance")
    parameter_name = "clearance_state"

    def lookups(self, request, model_admin):
        from customs.models import OrderClearance

        return [("none", _("not filed yet")), *OrderClearance.State.choices]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(clearance_state="")
        return queryset.filter(clearance_state=self.value()) if self.value() else queryset


SHOWN_AS_WORDS = ["clearance_state", "state_reason"]


@admin.register(Order)
class OrderAdmin(MerchantScopedAdmin, admin.ModelAdmin):
    list_display = ["number", "shopper", "merchant", "state", "delivery_mode", "total_display",
                    "clearance_words", "flagged", "created_at"]  # fmt: skip
    list_filter = ["state", "delivery_mode", "flagged", ClearanceFilter]
    list_select_related = ["shopper", "merchant"]
    search_fields = ["number"]
    # The stored clearance code and reason are shown as words (clearance_words, the clearance
    # block with the authority's text quoted), never as the code.
    exclude = SHOWN_AS_WORDS
    readonly_fields = [f.name for f in Order._meta.fields if f.name not in SHOWN_AS_WORDS] + [
        "reason_quoted",
        "clearance_words",
        "clearance",
    ]
    inlines = [OrderLineInline, OrderEventInline, PaymentInline]
    actions = ["cancel_orders", "sync_clearance", "retry_refunds"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("customs clearance"), ordering="clearance_state")
    def clearance_words(self, obj: Order):
        from customs.models import OrderClearance

        if not obj.clearance_state:
            return _("not filed yet")
        labels = dict(OrderClearance.State.choices)
        return labels.get(obj.clearance_state, obj.clearance_state)

    @admin.display(description=_("reason"))
    def reason_quoted(self, obj: Order):
        """Why the order is where it is, often the authority's own words: quoted as received."""
        return format_html("<q data-verbatim>{}</q>", obj.state_reason) if obj.state_reason else "-"

    @admin.display(description=_("to pay"))
    def total_display(self, obj: Order):
        return obj.total

    @admin.display(description=_("customs clearance"))
    def clearance(self, obj: Order):
        view = customs_selectors.order_clearance(obj.number)
        if view is None:
            return "-"
        rows = format_html_join(
            "", "<li>{} ({}): {} <q data-verbatim>{}</q>{}</li>",
            ((d.message_type, d.authority_label, d.state_label, d.return_info,
              f" · {_('needs staff')}: {d.needs_staff}" if d.needs_staff else "")
             for d in view.declarations),
        )  # fmt: skip
        return format_html(
            "<strong>{}</strong> {}<ul>{}</ul>{}", view.state_label, view.reason_for_staff, rows,
            _withdrawal(view.withdrawal),
        )  # fmt: skip

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
            request, queryset, lambda o: clearance_sync_retry(order_no=o.number),
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
class RefundAdmin(MerchantScopedAdmin, admin.ModelAdmin):
    list_display = ["payment", "amount", "state", "reason", "created_at", "done_at"]
    list_filter = ["state"]
    readonly_fields = ["payment", "amount", "state", "reason", "created_at", "done_at", "error"]

    merchant_lookup = "payment__order__merchant"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment__order")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClearanceSyncFailure)
class ClearanceSyncFailureAdmin(admin.ModelAdmin):
    """Orders whose clearance the sweep could not apply: still retried (no hand-over time) or
    handed to staff after ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS (the order is flagged too)."""

    list_display = ["order_no", "attempts", "error", "first_failed_at", "last_failed_at",
                    "gave_up_at"]  # fmt: skip
    list_filter = [("gave_up_at", admin.EmptyFieldListFilter)]
    search_fields = ["order_no"]
    readonly_fields = list_display
    actions = ["retry"]

    def get_queryset(self, request):
        failures = super().get_queryset(request)
        own = merchant_for_staff(request.user)
        if own:
            numbers = Order.objects.filter(merchant=own).values("number")
            return failures.filter(order_no__in=numbers)
        return failures

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Apply the clearance again now"), permissions=["view"])
    def retry(self, request, queryset):
        done = 0
        for failure in list(queryset):
            try:
                clearance_sync_retry(order_no=failure.order_no)
                done += 1
            except Exception as exc:  # shown to staff; the failure row stays
                self.message_user(request, f"{failure.order_no}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)s order(s) re-read.") % {"n": done})
