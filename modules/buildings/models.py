"""Entries of the buildings module. Embodied energy has no model: it is derived from the rooms."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carbon.taxonomy import ROOM_TYPES
from modules.base import Entry, entry_history


class BuildingRoomEntry(Entry):
    """A room a lab occupies, with the share of it allocated to the lab.

    The surface is read from the reference room (`room`) when emissions are computed, so a corrected
    surface reaches every entry at the next recalculation. `room` is null when the room name is not in
    the reference table: the entry is kept and yields no emission.
    """

    building_location = models.CharField(max_length=64, blank=True)
    building_name = models.CharField(max_length=64)
    room_name = models.CharField(max_length=128)
    room_type = models.CharField(max_length=16, blank=True, choices=[(t, t) for t in ROOM_TYPES],
                                 help_text=_("Blank: booked under miscellaneous, with the building's fallback factor."))
    room_allocation_ratio = models.DecimalField(max_digits=7, decimal_places=6, default=1,
                                                validators=[MinValueValidator(0), MaxValueValidator(1)])
    room = models.ForeignKey("factors.BuildingRoom", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("building room entry")
        verbose_name_plural = _("building room entries")
        # Entry.Meta's index name would be 32 characters for this class (Django allows 30).
        indexes = [models.Index(fields=["module_report", "source"], name="buildingroom_mr_src")]
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(room_allocation_ratio__gte=0, room_allocation_ratio__lte=1),
                                   name="building_room_ratio_0_1"),
            models.CheckConstraint(condition=Q(room_type__in=["", *ROOM_TYPES]), name="building_room_type_valid"),
            models.CheckConstraint(condition=~Q(room_name="") & ~Q(building_name=""),
                                   name="building_room_names_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.room_name} ({self.room_allocation_ratio:g})"


class EnergyCombustion(Entry):
    """A quantity of fuel burnt on site in a year (e.g. 1000 kWh of natural gas)."""

    name = models.CharField(max_length=128, help_text=_("The fuel, matched to a factor name (e.g. natural_gas)."))
    unit = models.CharField(max_length=32, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=6, validators=[MinValueValidator(0)])

    history = entry_history()

    class Meta(Entry.Meta):
        verbose_name = _("energy combustion")
        verbose_name_plural = _("energy combustion")
        indexes = [models.Index(fields=["module_report", "source"], name="energycombustion_mr_src")]  # as above
        constraints = [
            *Entry.Meta.constraints,
            models.CheckConstraint(condition=Q(quantity__gte=0), name="energy_combustion_quantity_ge_0"),
            models.CheckConstraint(condition=~Q(name=""), name="energy_combustion_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.quantity} {self.unit}".strip()
