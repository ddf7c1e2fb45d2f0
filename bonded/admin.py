"""Staff screens for the ledger. Moves and the book are read-only: stock changes through the
receipt form, stocktakes and the services behind them."""

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from bonded import services
from bonded.errors import LedgerError
from bonded.forms import ReceiptForm
from bonded.models import (
    AccountBookEntry,
    AccountBookRecord,
    Balance,
    GoodsItem,
    Location,
    Move,
    Reservation,
    Stocktake,
    StocktakeLine,
    Warehouse,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GoodsItem)
class GoodsItemAdmin(admin.ModelAdmin):
    list_display = ["item_no", "name_zh", "name_en", "hs_code", "origin_country", "owner_code"]
    list_filter = ["origin_country", "owner_code"]
    search_fields = ["item_no", "barcode", "name_zh", "name_en", "hs_code"]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "area_code", "ems_no"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "warehouse", "name_zh", "inside_supervision_zone", "is_active"]
    list_filter = ["kind", "warehouse", "inside_supervision_zone"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Move)
class MoveAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "reference", "item", "quantity", "from_location",
                    "to_location", "actor"]  # fmt: skip
    list_filter = ["kind", "to_location__warehouse", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["reference", "item__item_no", "item__barcode", "note"]
    list_select_related = ["item", "from_location", "to_location"]
    date_hierarchy = "created_at"

    def get_urls(self):
        receive = self.admin_site.admin_view(self.receive_view)
        return [path("receive/", receive, name="bonded_move_receive"), *super().get_urls()]

    def receive_view(self, request):
        """Stock arrives under an entry declaration: validate every line, then one service call."""
        if not request.user.has_perm("bonded.view_move"):
            return redirect("admin:index")
        form = ReceiptForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                moves = services.stock_receive(
                    reference=data["reference"],
                    location_code=data["location"].code,
                    entry_declaration_no=data["entry_declaration_no"],
                    lines=data["lines"],
                    actor=request.user.get_username(),
                )
            except LedgerError as exc:
                form.add_error(
                    exc.extra.get("field") if exc.extra.get("field") in form.fields else None,
                    exc.message,
                )
            else:
                self.message_user(
                    request,
                    _("Received %(n)s lines under %(entry)s.")
                    % {"n": len(moves), "entry": data["entry_declaration_no"]},
                    messages.SUCCESS,
                )
                return redirect("admin:bonded_move_changelist")
        context = {**self.admin_site.each_context(request), "form": form,
                   "title": _("Receive stock into bond"), "opts": self.model._meta}  # fmt: skip
        return render(request, "admin/bonded/receive.html", context)


class LowStockFilter(admin.SimpleListFilter):
    title = _("stock level")
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return [("low", _("low (below threshold)")), ("out", _("none available"))]

    def queryset(self, request, queryset):
        free = F("on_hand") - F("reserved")
        if self.value() == "low":
            return queryset.alias(free=free).filter(free__lt=settings.BONDED_LOW_STOCK_THRESHOLD)
        if self.value() == "out":
            return queryset.alias(free=free).filter(free__lte=0)
        return queryset


class MerchantFilter(admin.SimpleListFilter):
    title = _("merchant (owner code)")
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        codes = GoodsItem.objects.values_list("owner_code", flat=True).distinct().order_by()
        return [(code, code) for code in sorted(codes)]

    def queryset(self, request, queryset):
        return queryset.filter(item__owner_code=self.value()) if self.value() else queryset


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ["item", "location", "on_hand", "reserved", "available_units", "updated_at"]
    list_filter = ["location__warehouse", "location__kind", MerchantFilter, LowStockFilter]
    search_fields = ["item__item_no", "item__barcode", "item__name_zh", "item__name_en"]
    list_select_related = ["item", "location"]

    @admin.display(description=_("available"), ordering="on_hand")
    def available_units(self, obj: Balance) -> int:
        return obj.available


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["reference", "line_no", "item", "location", "quantity", "state", "expires_at"]
    list_filter = ["state", "location"]
    search_fields = ["reference", "item__item_no"]
    list_select_related = ["item", "location"]


class BookEntryInline(admin.TabularInline):
    model = AccountBookEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "quantity", "document_no"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccountBookRecord)
class AccountBookRecordAdmin(ReadOnlyAdmin):
    """The customs account book beside physical stock under bond: a difference needs a look."""

    list_display = ["warehouse", "record_no", "item", "declared_in", "written_off", "balance",
                    "physical", "status"]  # fmt: skip
    list_filter = ["warehouse"]
    search_fields = ["item__item_no", "item__name_zh", "item__name_en"]
    list_select_related = ["warehouse", "item"]
    inlines = [BookEntryInline]

    def get_queryset(self, request):
        physical = (
            Balance.objects.filter(
                item_id=OuterRef("item_id"),
                location__warehouse_id=OuterRef("warehouse_id"),
                location__kind__in=Location.BONDED_KINDS,
            )
            .values("item_id")
            .annotate(total=Sum("on_hand"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(physical_qty=Coalesce(Subquery(physical, output_field=IntegerField()), 0))
        )

    @admin.display(description=_("physical under bond"), ordering="physical_qty")
    def physical(self, obj) -> int:
        return obj.physical_qty

    @admin.display(description=_("reconciliation"))
    def status(self, obj) -> str:
        difference = obj.physical_qty - obj.balance
        return _("matches") if not difference else _("differs by %(d)+d") % {"d": difference}


class StocktakeLineInline(admin.TabularInline):
    model = StocktakeLine
    extra = 3
    fields = ["item", "counted", "on_hand_now", "expected", "difference_shown"]
    readonly_fields = ["on_hand_now", "expected", "difference_shown"]
    autocomplete_fields = ["item"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A table row's inputs have no <label> (the column header is not one): name them, and
        # static/js/admin_a11y.js gives the search box drawn over the item select the same name.
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in ("item", "counted"):
            field.widget.attrs["aria-label"] = str(db_field.verbose_name)
        return field

    @admin.display(description=_("on hand now"))
    def on_hand_now(self, line) -> int | str:
        if not line.pk:
            return "-"
        row = Balance.objects.filter(item=line.item, location=line.stocktake.location).first()
        return row.on_hand if row else 0

    @admin.display(description=_("difference"))
    def difference_shown(self, line) -> int | str:
        if not line.pk:
            return "-"
        if line.expected is not None:
            return line.difference
        return line.counted - self.on_hand_now(line)

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.state == Stocktake.State.OPEN

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(Stocktake)
class StocktakeAdmin(admin.ModelAdmin):
    """Count a location, review the differences (inline), then post them with a reason."""

    list_display = ["reference", "location", "state", "created_by", "created_at", "posted_at"]
    list_filter = ["state", "location"]
    fields = ["reference", "location", "reason", "state", "created_by", "posted_at"]
    readonly_fields = ["state", "created_by", "posted_at"]
    inlines = [StocktakeLineInline]
    actions = ["post_adjustments"]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.state == Stocktake.State.POSTED:
            return [*self.fields]
        return [*self.readonly_fields, *(["reference", "location"] if obj else [])]

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.stocktake_open(
                reference=obj.reference,
                location_code=obj.location.code,
                actor=request.user.get_username(),
            )
            obj.pk = created.pk
        Stocktake.objects.filter(pk=obj.pk, state=Stocktake.State.OPEN).update(reason=obj.reason)

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # only fills new/changed/deleted lists for the admin log
        stocktake = form.instance
        for line_form in formset.forms:
            data = getattr(line_form, "cleaned_data", None)
            if not data or not data.get("item"):
                continue
            if data.get("DELETE"):
                if line_form.instance.pk:
                    line_form.instance.delete()
                continue
            try:
                services.stocktake_count(
                    reference=stocktake.reference,
                    item_no=data["item"].item_no,
                    counted=data["counted"],
                )
            except LedgerError as exc:
                self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description=_("Post adjustments for the selected stocktakes"))
    def post_adjustments(self, request, queryset):
        for stocktake in queryset:
            if not stocktake.reason.strip():
                self.message_user(
                    request,
                    _("%(ref)s: write a reason before posting.") % {"ref": stocktake.reference},
                    messages.ERROR,
                )
                continue
            try:
                moves = services.stocktake_post(
                    reference=stocktake.reference,
                    reason=stocktake.reason,
                    actor=request.user.get_username(),
                )
            except LedgerError as exc:
                self.message_user(request, f"{stocktake.reference}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(ref)s posted: %(n)s adjustment moves.")
                    % {"ref": stocktake.reference, "n": len(moves)},
                    messages.SUCCESS,
                )
