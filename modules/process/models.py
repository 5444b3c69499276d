from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from modules.base import Entry, entry_history


class ProcessEmission(Entry):
    """A quantity of a greenhouse gas released by a lab process (e.g. 100 kg of CO2)."""

    category = models.CharField(max_length=32)
    subcategory = models.CharField(max_length=128, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=6, validators=[MinValueValidator(0)])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("process emission")
        verbose_name_plural = _("process emissions")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="process_quantity_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.subcategory} {self.quantity}".strip()
