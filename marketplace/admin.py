"""Staff screens. Platform staff see everything; merchant staff (MerchantStaff) only their own
merchant's listings. State changes (approve, suspend) go through the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from marketplace.admin_scope import MerchantScopedAdmin
from marketplace.errors import MarketplaceError
from marketplace.models import (
    Brand,
    Category,
    Listing,
    Merchant,
    MerchantStaff,
    Shopper,
    TaxCategory,
)
from marketplace.selectors.merchants import merchant_for_staff
from marketplace.services.merchants import merchant_approve, merchant_suspend


def _actor(request) -> str:
    return request.user.get_username()


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin, admin.ModelAdmin):
    list_display = ["code", "name", "country", "status", "status_changed_at"]
    list_filter = ["status", "country"]
    search_fields = ["code", "name"]
    readonly_fields = ["status", "status_reason", "status_changed_at", "status_changed_by"]
    actions = ["approve", "suspend"]

    merchant_lookup = "pk"

    def scope(self, queryset, merchant):
        return queryset.filter(pk=merchant.pk)

    def _run(self, request, queryset, action, done_message):
        done = 0
        for merchant in queryset.order_by("pk"):
            try:
                action(merchant)
                done += 1
            except MarketplaceError as exc:
                self.message_user(request, f"{merchant.code}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected merchants"), permissions=["change"])
    def approve(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda m: merchant_approve(merchant=m, actor=_actor(request)),
            _("%(n)s merchant(s) approved."),
        )

    @admin.action(description=_("Suspend the selected merchants"), permissions=["change"])
    def suspend(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda m: merchant_suspend(
                merchant=m, actor=_actor(request), reason=str(_("Suspended by platform staff"))
            ),
            _("%(n)s merchant(s) suspended; their listings are hidden."),
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if merchant_for_staff(request.user):
            actions.pop("approve", None)
            actions.pop("suspend", None)
        return actions


@admin.register(MerchantStaff)
class MerchantStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant"]
    list_select_related = ["user", "merchant"]
    autocomplete_fields = ["user"]


@admin.register(TaxCategory)
class TaxCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "vat_rate", "consumption_rate", "duty_rate"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh", "name_en", "position"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Listing)
class ListingAdmin(MerchantScopedAdmin, admin.ModelAdmin):
    list_display = ["item", "merchant", "price", "category", "brand", "is_active"]
    list_filter = ["is_active", "category", "merchant"]
    list_select_related = ["item", "merchant", "category", "brand"]
    search_fields = ["item__item_no", "item__barcode", "item__name_zh", "item__name_en"]
    raw_id_fields = ["item"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        own = merchant_for_staff(request.user)
        if own and db_field.name == "merchant":
            kwargs["queryset"] = Merchant.objects.filter(pk=own.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        own = merchant_for_staff(request.user)
        if own:
            obj.merchant = own  # merchant staff can never file a listing for someone else
        super().save_model(request, obj, form, change)

    def get_list_filter(self, request):
        if merchant_for_staff(request.user):
            return ["is_active", "category"]
        return self.list_filter


@admin.register(Shopper)
class ShopperAdmin(admin.ModelAdmin):
    """Shows only the masked ID: the full number is never on a staff screen either."""

    list_display = ["real_name", "masked_id", "mobile", "user", "created_at"]
    search_fields = ["real_name", "mobile", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "real_name", "masked_id", "mobile", "created_at"]
    readonly_fields = ["user", "real_name", "masked_id", "mobile", "created_at"]

    @admin.display(description=_("resident ID number"))
    def masked_id(self, obj: Shopper) -> str:
        return obj.masked_id

    def has_add_permission(self, request):
        return False  # registration goes through shopper_register (checks, hash, one per ID)

    # No search by resident ID here on purpose: the admin searches with GET, which would put
    # the full number in the URL and the access logs. The kiosk looks IDs up by POST.


# Orders, payments and refunds; stock, returns and settlement: their own modules
# (state changes through services only).
from marketplace import admin_merchant, admin_orders  # noqa: E402, F401
