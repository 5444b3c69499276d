from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from factors.kinds.equipment import EQUIPMENT_CATEGORIES, HOURS_PER_WEEK, hours_constraints
from modules.base import Entry, entry_history


def _hours_field():
    return models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                               validators=[MinValueValidator(0), MaxValueValidator(HOURS_PER_WEEK)],
                               help_text=_("Empty = the factor's default."))


class Equipment(Entry):
    """A device of a lab's inventory; its category (scientific / it / other) is its entry kind (10/11/12)."""

    equipment_category = models.CharField(max_length=16, choices=[(c, c) for c in EQUIPMENT_CATEGORIES])
    equipment_id = models.CharField(_("inventory number"), max_length=64)
    name = models.CharField(max_length=255)
    equipment_class = models.CharField(max_length=128)
    sub_class = models.CharField(max_length=128, blank=True)
    active_usage_hours_per_week = _hours_field()
    standby_usage_hours_per_week = _hours_field()

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(equipment_category__in=EQUIPMENT_CATEGORIES),
                                   name="equipment_category_valid"),
            models.CheckConstraint(condition=~Q(equipment_id="") & ~Q(name="") & ~Q(equipment_class=""),
                                   name="equipment_required_text_set"),
            *hours_constraints("equipment"),
        ]

    def __str__(self) -> str:
        return f"{self.equipment_id} {self.name}"
