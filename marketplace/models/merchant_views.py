"""What a merchant's staff look at in the admin, as proxies of rows that live elsewhere: their
stock (bonded balances of goods they own), their returns (orders with a return filed) and their
settlement figures (per merchant). No tables of their own; each proxy has its own permission."""

from django.utils.translation import gettext_lazy as _

from bonded.models import Balance
from marketplace.models.merchants import Merchant
from marketplace.models.orders import Order


class MerchantStock(Balance):
    class Meta:
        proxy = True
        verbose_name = _("stock item")
        verbose_name_plural = _("stock")


class ReturnRequest(Order):
    class Meta:
        proxy = True
        verbose_name = _("return")
        verbose_name_plural = _("returns")


class Settlement(Merchant):
    class Meta:
        proxy = True
        verbose_name = _("settlement")
        verbose_name_plural = _("settlement")
