"""What is on sale: listings of bonded goods items, with their tax category."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bonded.models import GoodsItem
from config.refcache import RefQuerySet
from marketplace.models.merchants import Merchant

rate_validators = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.9999"))]


def _localized(zh: str, en: str) -> str:
    return en if (get_language() or "").startswith("en") and en else zh


class TaxCategory(models.Model):
    """Statutory rates of a kind of goods. Cross-border retail pays 70% of VAT and consumption
    tax and no duty within the limits; the duty rate applies only to a single over-limit item."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    vat_rate = models.DecimalField(
        _("VAT rate"), max_digits=5, decimal_places=4, validators=rate_validators
    )
    consumption_rate = models.DecimalField(
        _("consumption tax rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=rate_validators,
    )
    duty_rate = models.DecimalField(
        _("customs duty rate (over the limit)"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=rate_validators,
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("tax category")
        verbose_name_plural = _("tax categories")
        constraints = [
            models.CheckConstraint(
                condition=Q(vat_rate__gte=0, vat_rate__lt=1)
                & Q(consumption_rate__gte=0, consumption_rate__lt=1)
                & Q(duty_rate__gte=0, duty_rate__lt=1),
                name="taxcategory_rates_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)


class Category(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)


class Brand(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class Listing(models.Model):
    """One bonded goods item on sale by its owner merchant; name and origin come from the item."""

    item = models.OneToOneField(
        GoodsItem, verbose_name=_("goods item"), on_delete=models.PROTECT, related_name="listing"
    )
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="listings"
    )
    price = models.DecimalField(_("price (CNY)"), max_digits=12, decimal_places=2)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="listings"
    )
    brand = models.ForeignKey(
        Brand, verbose_name=_("brand"), on_delete=models.PROTECT, related_name="listings"
    )
    tax_category = models.ForeignKey(
        TaxCategory,
        verbose_name=_("tax category"),
        on_delete=models.PROTECT,
        related_name="listings",
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("listed at"), default=timezone.now, db_index=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="listing_price_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.item.item_no} {self.item.name_en}"

    def clean(self) -> None:
        if self.price is not None and self.price <= 0:
            raise ValidationError({"price": _("The price must be more than zero.")})
        if self.item_id and self.merchant_id and self.item.owner_code != self.merchant.code:
            raise ValidationError(
                {"item": _("This goods item belongs to another merchant; list only your own.")}
            )

    @property
    def name(self) -> str:
        return _localized(self.item.name_zh, self.item.name_en)

    @property
    def description(self) -> str:
        return _localized(self.description_zh, self.description_en)
