from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from factors.kinds.purchases import PURCHASE_CATEGORIES
from modules.base import Entry, entry_history


class Purchase(Entry):
    """Goods or services bought, by amount spent; its purchase_category is its entry kind (60–66)."""

    purchase_category = models.CharField(max_length=48, choices=[(c, c) for c in PURCHASE_CATEGORIES])
    name = models.CharField(max_length=255)
    supplier = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True,
                                   validators=[MinValueValidator(0)])
    total_spent_amount = models.DecimalField(max_digits=18, decimal_places=4, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="CHF", help_text=_("ISO 4217, upper case."))
    purchase_institutional_code = models.CharField(max_length=64)
    purchase_institutional_description = models.CharField(max_length=255, blank=True)
    purchase_additional_code = models.CharField(max_length=32, blank=True)

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(purchase_category__in=PURCHASE_CATEGORIES),
                                   name="purchase_category_valid"),
            models.CheckConstraint(condition=~Q(name="") & ~Q(purchase_institutional_code=""),
                                   name="purchase_required_text_set"),
            models.CheckConstraint(condition=Q(total_spent_amount__gte=0), name="purchase_amount_ge_0"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="purchase_quantity_ge_0"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="purchase_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.total_spent_amount} {self.currency})"


class AdditionalPurchase(Entry):
    """A yearly quantity of a consumable counted by mass (liquid nitrogen …), entry kind 67."""

    name = models.CharField(max_length=128)
    unit = models.CharField(max_length=32)
    annual_consumption = models.DecimalField(max_digits=18, decimal_places=6, validators=[MinValueValidator(0)])
    coef_to_kg = models.DecimalField(max_digits=18, decimal_places=8, validators=[MinValueValidator(0)],
                                     help_text=_("kg per unit (e.g. 0.8 for litres of liquid nitrogen)."))

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("additional purchase")
        verbose_name_plural = _("additional purchases")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=~Q(name="") & ~Q(unit=""), name="additional_purchase_text_set"),
            models.CheckConstraint(condition=Q(annual_consumption__gte=0, coef_to_kg__gte=0),
                                   name="additional_purchase_amounts_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.annual_consumption} {self.unit}"
