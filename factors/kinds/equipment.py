"""Equipment factors: the power draw and default usage of a class of device, and the kWh emission factor.

One row per (year, equipment_category, equipment_class, sub_class); a blank sub_class is the class's
fallback row. Entries look a factor up by (class, sub_class), else (class, '') within their category,
and an entry without a category takes it from these rows (modules/equipment/kind.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factors.base import Factor, FactorKindSpec, non_negative
from factors.kinds.purchases import check_lengths
from infra.csvio import CellError, ColumnSpec, parse_choice, parse_decimal

EQUIPMENT_CATEGORIES = ("scientific", "it", "other")
HOURS_PER_WEEK = 168
HOUR_FIELDS = ("active_usage_hours_per_week", "standby_usage_hours_per_week")


def hours_field(help_text: str):
    return models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, help_text=help_text,
                               validators=[MinValueValidator(0), MaxValueValidator(HOURS_PER_WEEK)])


def hours_constraints(prefix: str) -> list[models.CheckConstraint]:
    """Each of the two weekly hours in 0–168 and their sum ≤ 168 (a week has 168 hours); empty = not given."""
    active, standby = HOUR_FIELDS
    return [
        models.CheckConstraint(condition=Q(**{f"{active}__gte": 0, f"{active}__lte": HOURS_PER_WEEK}),
                               name=f"{prefix}_active_hours_range"),
        models.CheckConstraint(condition=Q(**{f"{standby}__gte": 0, f"{standby}__lte": HOURS_PER_WEEK}),
                               name=f"{prefix}_standby_hours_range"),
        models.CheckConstraint(condition=Q(**{f"{active}__isnull": True}) | Q(**{f"{standby}__isnull": True})
                               | Q(**{f"{active}__lte": HOURS_PER_WEEK - F(standby)}),
                               name=f"{prefix}_hours_sum_le_168"),
    ]


class EquipmentFactor(Factor):
    """Power (W) in use and on standby, default weekly hours, and kg CO2-eq per kWh of one device class."""

    equipment_category = models.CharField(max_length=16, choices=[(c, c) for c in EQUIPMENT_CATEGORIES])
    equipment_class = models.CharField(max_length=128)
    sub_class = models.CharField(max_length=128, blank=True)
    active_power_w = models.DecimalField(max_digits=14, decimal_places=4, validators=non_negative())
    standby_power_w = models.DecimalField(max_digits=14, decimal_places=4, validators=non_negative())
    active_usage_hours_per_week = hours_field(_("Default when an entry leaves it empty."))
    standby_usage_hours_per_week = hours_field(_("Default when an entry leaves it empty."))
    ef_kg_co2eq_per_kwh = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("active_power_w", "standby_power_w", *HOUR_FIELDS, "ef_kg_co2eq_per_kwh")

    class Meta:
        verbose_name = _("equipment factor")
        verbose_name_plural = _("equipment factors")
        ordering = ["year", "equipment_category", "equipment_class", "sub_class"]
        constraints = [
            models.UniqueConstraint(fields=["year", "equipment_category", "equipment_class", "sub_class"],
                                    name="equipment_factor_identity"),
            models.CheckConstraint(condition=Q(equipment_category__in=EQUIPMENT_CATEGORIES),
                                   name="equipment_factor_category_valid"),
            models.CheckConstraint(condition=Q(active_power_w__gte=0, standby_power_w__gte=0),
                                   name="equipment_factor_power_ge_0"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_kwh__gte=0), name="equipment_factor_ef_ge_0"),
            *hours_constraints("equipment_factor"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.equipment_category} {self.equipment_class}/{self.sub_class or '*'}"


def parse_category(text: str, column: str = "equipment_category") -> str:
    return parse_choice(text, EQUIPMENT_CATEGORIES, allow_empty=False, column=column)


def parse_hours(values: dict[str, str]) -> dict[str, Decimal | None]:
    """The two weekly-hours cells (each 0–168, at most 2 decimals, sum ≤ 168); empty → None."""
    hours = {}
    for name in HOUR_FIELDS:
        hours[name] = _decimal(values.get(name, ""), name, min=0, max=HOURS_PER_WEEK)
        if hours[name] is not None and hours[name].as_tuple().exponent < -2:
            raise CellError(f"at most 2 decimals (got {values[name]})", column=name)
    check_hours_sum(hours["active_usage_hours_per_week"], hours["standby_usage_hours_per_week"])
    return hours


def check_hours_sum(active: Decimal | None, standby: Decimal | None, *, defaulted: str = "") -> None:
    if active is not None and standby is not None and active + standby > HOURS_PER_WEEK:
        raise CellError(f"active + standby hours must be ≤ {HOURS_PER_WEEK} per week (got {active} + {standby}"
                        f"{defaulted})", column="standby_usage_hours_per_week")


def _decimal(text: str, column: str, **limits) -> Decimal | None:
    return parse_decimal(text, column=column, **limits)


def _parse(values: dict[str, str]) -> dict:
    return check_lengths(EquipmentFactor, {
        "equipment_category": parse_category(values["equipment_category"]),
        "equipment_class": values["equipment_class"],
        "sub_class": values.get("sub_class", ""),
        "active_power_w": _decimal(values["active_power_w"], "active_power_w", min=0, allow_empty=False),
        "standby_power_w": _decimal(values["standby_power_w"], "standby_power_w", min=0, allow_empty=False),
        **parse_hours(values),
        "ef_kg_co2eq_per_kwh": _decimal(values["ef_kg_co2eq_per_kwh"], "ef_kg_co2eq_per_kwh", min=0,
                                        allow_empty=False),
    })


SPEC = FactorKindSpec(
    name="equipment",
    model=EquipmentFactor,
    columns=(ColumnSpec("equipment_category", required=True), ColumnSpec("equipment_class", required=True),
             ColumnSpec("sub_class"), ColumnSpec("active_power_w", required=True),
             ColumnSpec("standby_power_w", required=True), ColumnSpec("active_usage_hours_per_week"),
             ColumnSpec("standby_usage_hours_per_week"), ColumnSpec("ef_kg_co2eq_per_kwh", required=True)),
    identity=("equipment_category", "equipment_class", "sub_class"),
    parse_row=_parse,
)
