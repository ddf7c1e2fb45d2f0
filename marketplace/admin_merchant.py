"""What merchant staff work with besides listings and orders: their stock in bond, their
returns and their settlement figures. Read-only screens; platform staff see every merchant."""

from django.contrib import admin
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from marketplace.admin_scope import MerchantScopedAdmin
from marketplace.models import MerchantStock, ReturnRequest, Settlement
from marketplace.selectors.settlement import merchants_with_settlement


def money(value) -> str:
    return "¥" + number_format(value, decimal_pos=2, use_l10n=True)


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MerchantStock)
class MerchantStockAdmin(MerchantScopedAdmin, ReadOnly, admin.ModelAdmin):
    """Goods the merchant owns (the customs owner code is its enterprise code), per location."""

    list_display = ["item_no", "item_name", "location", "on_hand", "reserved", "available"]
    list_filter = ["location__warehouse", "location__kind"]
    search_fields = ["item__item_no", "item__barcode", "item__name_zh", "item__name_en"]
    list_select_related = ["item", "location"]

    def scope(self, queryset, merchant):
        return queryset.filter(item__owner_code=merchant.code)

    @admin.display(description=_("item number"), ordering="item__item_no")
    def item_no(self, obj):
        return obj.item.item_no

    @admin.display(description=_("goods"))
    def item_name(self, obj):
        return obj.item.name_zh or obj.item.name_en

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.on_hand - obj.reserved


@admin.register(ReturnRequest)
class ReturnRequestAdmin(MerchantScopedAdmin, ReadOnly, admin.ModelAdmin):
    list_display = ["return_no", "number", "state", "return_requested_at", "goods_total",
                    "refund_state"]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["return_no", "number"]
    fields = ["return_no", "number", "state", "state_reason", "return_requested_at",
              "goods_value", "tax_total", "refund_state"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(return_no="")
            .prefetch_related("payments__refunds")
        )

    @admin.display(description=_("paid by the shopper"))
    def goods_total(self, obj):
        return money(obj.total)

    @admin.display(description=_("refund"))
    def refund_state(self, obj):
        refunds = [r for p in obj.payments.all() for r in p.refunds.all()]
        if not refunds:
            return _("not yet (waits for customs to confirm the return)")
        return ", ".join(f"{r.get_state_display()} {money(r.amount)}" for r in refunds)


@admin.register(Settlement)
class SettlementAdmin(MerchantScopedAdmin, ReadOnly, admin.ModelAdmin):
    """Amounts sold, tax withheld for customs, refunds paid, and what the merchant is owed."""

    list_display = ["merchant_name", "orders_paid", "sold_display", "tax_display",
                    "refunded_display", "net_display"]  # fmt: skip
    list_display_links = None
    merchant_lookup = "pk"

    def scope(self, queryset, merchant):
        return queryset.filter(pk=merchant.pk)

    def get_queryset(self, request):
        return merchants_with_settlement(super().get_queryset(request))

    @admin.display(description=_("merchant"), ordering="name")
    def merchant_name(self, obj):
        return f"{obj.name} ({obj.code})"

    @admin.display(description=_("paid orders"), ordering="orders_paid")
    def orders_paid(self, obj):
        return obj.orders_paid

    @admin.display(description=_("amount sold (paid by shoppers)"), ordering="sold")
    def sold_display(self, obj):
        return money(obj.sold)

    @admin.display(description=_("import tax withheld"), ordering="tax_withheld")
    def tax_display(self, obj):
        return money(obj.tax_withheld)

    @admin.display(description=_("refunds paid"), ordering="refunded")
    def refunded_display(self, obj):
        return money(obj.refunded)

    @admin.display(description=_("owed to the merchant"))
    def net_display(self, obj):
        return money(obj.sold - obj.tax_withheld - obj.refunded)
