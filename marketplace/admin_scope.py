"""Scoping for merchant staff: every admin a merchant's staff can open shows only that
merchant's rows, and another merchant's row is simply not there (404, not a redirect that
says it "may have been deleted")."""

from django.http import Http404

from marketplace.selectors.merchants import merchant_for_staff


class MerchantScopedAdmin:
    """Mix into a ModelAdmin; `merchant_lookup` is the path from the row to its merchant."""

    merchant_lookup = "merchant"

    def scope(self, queryset, merchant):
        return queryset.filter(**{self.merchant_lookup: merchant})

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        own = merchant_for_staff(request.user)
        return self.scope(rows, own) if own else rows

    def get_object(self, request, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None and merchant_for_staff(request.user):
            raise Http404
        return found
