"""Staff screens: kiosks (key shown once), pickup codes (never the digits), attempts, returns."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bonded.models import Location
from pickup.errors import PickupError
from pickup.models import Attempt, Kiosk, PickupCode
from pickup.services import kiosk_create, kiosk_revoke


class KioskCreateForm(forms.ModelForm):
    class Meta:
        model = Kiosk
        fields = ["name", "counter"]


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ["name", "counter", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["counter", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix", "counter__code"]
    readonly_fields = [
        "key_prefix", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by",
    ]  # fmt: skip
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = KioskCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "counter"]
        return ["name", "counter", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "counter"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: attempts and handovers keep pointing at the kiosk

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "counter":
            kwargs["queryset"] = Location.objects.filter(
                kind=Location.Kind.COUNTER, inside_supervision_zone=True, is_active=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            Kiosk.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        kiosk, key = kiosk_create(
            name=obj.name, counter_code=obj.counter.code, actor=request.user.get_username()
        )
        obj.pk = kiosk.pk
        obj.__dict__.update({k: v for k, v in kiosk.__dict__.items() if not k.startswith("_")})
        messages.warning(
            request,
            _("Kiosk key (shown only now; copy it into the kiosk): %(key)s") % {"key": key},
        )

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:pickup_kiosk_change", args=[obj.pk]))

    @admin.action(description=_("Revoke the selected kiosks' keys"))
    def revoke(self, request, queryset):
        done = 0
        for kiosk in queryset:
            try:
                kiosk_revoke(kiosk=kiosk, actor=request.user.get_username())
                done += 1
            except PickupError as exc:
                self.message_user(request, f"{kiosk}: {exc.message}", messages.WARNING)
        self.message_user(request, _("Revoked %(n)s kiosks.") % {"n": done})


class ReturnDueFilter(admin.SimpleListFilter):
    title = _("uncollected past the deadline")
    parameter_name = "return_due"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: return to stock"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(return_due_at__isnull=False, used_at__isnull=True)
        return queryset


@admin.register(PickupCode)
class PickupCodeAdmin(admin.ModelAdmin):
    # The digits are never shown here; salt and hash are not listed either.
    list_display = ["order", "counter_code", "created_at", "used_at", "used_by", "return_due_at"]
    list_filter = [ReturnDueFilter, "counter_code"]
    search_fields = ["order__number"]
    fields = ["order", "counter_code", "created_at", "used_at", "used_by", "return_due_at"]
    readonly_fields = fields
    list_select_related = ["order", "used_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "kiosk", "order", "kind", "outcome", "reason"]
    list_filter = ["kind", "outcome", "kiosk"]
    search_fields = ["order__number"]
    date_hierarchy = "at"
    list_select_related = ["kiosk__counter", "order"]
    readonly_fields = ["at", "kiosk", "order", "kind", "outcome", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
