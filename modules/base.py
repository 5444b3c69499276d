"""What every entry has in common: the abstract `Entry`, its sources, and the leaf rows it yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

__all__ = ["Entry", "EntrySource", "Leaf", "entry_history"]


class EntrySource(models.IntegerChoices):
    """Where a row came from; per-year replaces touch only their own source."""

    USER_MANUAL = 0, "Entered by hand"
    CSV_MODULE_PER_YEAR = 1, "Per-year CSV file"
    CSV_MODULE_UNIT_SPECIFIC = 2, "Unit CSV upload"
    API_MODULE_PER_YEAR = 3, "API, per year"
    API_MODULE_UNIT_SPECIFIC = 4, "API, per unit"
    EXTERNAL_INTEGRATION = 5, "External integration"


class Entry(models.Model):
    """Abstract base of every entry kind: one row a lab entered or a file brought.

    `kg_co2eq` is the entry's total, derived from its leaf emission rows (null = no emission:
    no matching factor, unknown airport …). `kg_co2eq_override` is an imported total stored verbatim.
    """

    module_report = models.ForeignKey("carbon.ModuleReport", on_delete=models.CASCADE, related_name="+")
    source = models.PositiveSmallIntegerField(choices=EntrySource.choices, default=EntrySource.USER_MANUAL)
    # Not indexed: nothing looks entries up by their creator, and an account with history is never deleted
    # (audit.chain: it is deactivated), so the index would only cost every imported row one more insertion.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)
    note = models.TextField(blank=True)
    kg_co2eq_override = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True,
                                            validators=[MinValueValidator(0)])
    kg_co2eq = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(condition=models.Q(kg_co2eq_override__gte=0),
                                   name="%(app_label)s_%(class)s_override_not_negative"),
        ]


def entry_history() -> HistoricalRecords:
    """The history of an entry kind. Imports write its rows in bulk (one per imported row), so it carries only
    the indexes its readers use — the entry's id, the date, the acting user, the module report (the trail's
    unit scope) — not copies of the entry's other links (creator, places, room), which nothing looks up in the
    history. The acting user is not a database-checked foreign key: an audit row outlives its user, and the
    rows' integrity is the audit chain's job (`audit.chain`), not a per-row check at every import's commit."""
    return HistoricalRecords(excluded_fields=["kg_co2eq", "updated_at"],
                             no_db_index=["created_by", "origin", "destination", "room"],
                             user_db_constraint=False)


@dataclass
class Leaf:
    """One computed leaf emission of an entry, before it becomes an `Emission` row."""

    emission_type: int
    kg_co2eq: Decimal
    quantity: Decimal | None = None
    quantity_unit: str = ""
    factor_id: int | None = None
    factor_values: dict = field(default_factory=dict)
    is_override: bool = False
    # The entry kind the row is booked under when it differs from the entry's own (embodied energy
    # rows derived from a building room are booked under `building_embodied_energy`).
    kind: int | None = None
