"""Building factors: room energy per m² (`factors:building_room`), fuels burnt on site
(`factors:energy_combustion`) and embodied energy per m² (`factors:embodied_energy`).

Embodied energy has no entries of its own: it is computed from the building-room entries, so its
factors recalculate `building_room`.
"""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from carbon.taxonomy import ROOM_TYPES
from factors.base import Factor, FactorKindSpec, non_negative
from infra.csvio import CellError, ColumnSpec, parse_choice, parse_decimal, parse_text

ENERGY_TYPES = ("electric", "thermal")
_ENERGY_TYPE_ALIASES = {"electric": "electric", "elec": "electric", "electricity": "electric",
                        "thermal": "thermal", "therm": "thermal"}
EMBODIED_CATEGORIES = ("new-tech", "new-env", "ren-tech", "ren-env", "demolition")
EMBODIED_DEFAULT_BUILDING = "default"  # the rows used for buildings without rows of their own
KWH_FIELDS = ("heating_kwh_per_square_meter", "cooling_kwh_per_square_meter", "ventilation_kwh_per_square_meter",
              "lighting_kwh_per_square_meter")


def _decimal_field(**kwargs):
    return models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative(), **kwargs)


# ------------------------------------------------------------------------------------------- rooms
class BuildingRoomFactor(Factor):
    """Yearly energy use per m² of one room type in one building (blank room type = the building's
    fallback), the emission factor of that energy, and how the heating is supplied."""

    building_name = models.CharField(max_length=64)
    room_type = models.CharField(max_length=16, blank=True, help_text=_("Blank: any room type of the building."))
    heating_kwh_per_square_meter = _decimal_field()
    cooling_kwh_per_square_meter = _decimal_field()
    ventilation_kwh_per_square_meter = _decimal_field()
    lighting_kwh_per_square_meter = _decimal_field()
    ef_kg_co2eq_per_kwh = _decimal_field()
    energy_type = models.CharField(max_length=8, choices=[(t, t) for t in ENERGY_TYPES],
                                   help_text=_("How the heating is supplied: it books heating as electric or thermal."))
    conversion_factor = models.DecimalField(max_digits=18, decimal_places=8, default=1,
                                            help_text=_("Multiplies the heating energy (e.g. heat-pump efficiency)."))

    history = HistoricalRecords()

    VALUE_FIELDS = (*KWH_FIELDS, "ef_kg_co2eq_per_kwh", "energy_type", "conversion_factor")

    class Meta:
        verbose_name = _("building room factor")
        verbose_name_plural = _("building room factors")
        ordering = ["year", "building_name", "room_type"]
        constraints = [
            models.UniqueConstraint(fields=["year", "building_name", "room_type"], name="room_factor_identity"),
            models.CheckConstraint(condition=Q(room_type__in=["", *ROOM_TYPES]), name="room_factor_room_type_valid"),
            models.CheckConstraint(condition=Q(energy_type__in=ENERGY_TYPES), name="room_factor_energy_type_valid"),
            models.CheckConstraint(condition=Q(conversion_factor__gt=0), name="room_factor_conversion_gt_0"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_kwh__gte=0, heating_kwh_per_square_meter__gte=0,
                                               cooling_kwh_per_square_meter__gte=0,
                                               ventilation_kwh_per_square_meter__gte=0,
                                               lighting_kwh_per_square_meter__gte=0),
                                   name="room_factor_values_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.building_name}/{self.room_type or '*'}: {self.ef_kg_co2eq_per_kwh} kg/kWh"


def canonical_energy_type(text: str, column: str = "energy_type") -> str:
    """electric / thermal, also spelled elec, electricity, therm (any case)."""
    try:
        return _ENERGY_TYPE_ALIASES[text.strip().lower()]
    except KeyError:
        raise CellError(f"'{text}' is not one of: electric, thermal (or elec, electricity, therm)",
                        column=column) from None


def parse_room_type(text: str, column: str = "room_type", *, allow_empty: bool = True) -> str:
    """One of the six room types, matched case-insensitively; '' when empty and allowed."""
    return parse_choice(text, ROOM_TYPES, allow_empty=allow_empty, column=column) or ""


def _number(values: dict[str, str], column: str, **kwargs):
    return parse_decimal(values.get(column, ""), column=column, **kwargs)


def _name(values: dict[str, str], column: str, max_length: int) -> str:
    return parse_text(values.get(column, ""), max_length=max_length, column=column)


def _parse_room(values: dict[str, str]) -> dict:
    parsed = {"building_name": _name(values, "building_name", 64), "room_type": parse_room_type(values["room_type"])}
    for column in (*KWH_FIELDS, "ef_kg_co2eq_per_kwh"):
        parsed[column] = _number(values, column, min=0, allow_empty=False)
    parsed["energy_type"] = canonical_energy_type(values["energy_type"])
    conversion = _number(values, "conversion_factor")
    if conversion is not None and conversion <= 0:
        raise CellError(f"must be > 0 (got {values['conversion_factor']})", column="conversion_factor")
    parsed["conversion_factor"] = 1 if conversion is None else conversion  # empty = 1, as the reference
    return parsed


ROOM_SPEC = FactorKindSpec(
    name="building_room",
    model=BuildingRoomFactor,
    columns=(ColumnSpec("building_name", required=True), ColumnSpec("room_type"),
             *(ColumnSpec(c, required=True) for c in KWH_FIELDS),
             ColumnSpec("ef_kg_co2eq_per_kwh", required=True), ColumnSpec("energy_type", required=True),
             ColumnSpec("conversion_factor")),
    identity=("building_name", "room_type"),
    parse_row=_parse_room,
)


# -------------------------------------------------------------------------------------- combustion
def fuel_key(name: str) -> str:
    """'Natural gas' / 'natural-gas' / ' NATURAL_GAS ' -> 'natural_gas': how entries find their factor."""
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


class EnergyCombustionFactor(Factor):
    """kg CO2-eq per unit (kWh, kg …) of one fuel burnt on site. `name` is stored as its fuel key."""

    name = models.CharField(max_length=128)
    unit = models.CharField(max_length=32, blank=True)
    ef_kg_co2eq_per_unit = _decimal_field()

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_unit", "unit")

    class Meta:
        verbose_name = _("energy combustion factor")
        verbose_name_plural = _("energy combustion factors")
        ordering = ["year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["year", "name"], name="combustion_factor_identity"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_unit__gte=0), name="combustion_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}: {self.ef_kg_co2eq_per_unit} kg/{self.unit or 'unit'}"


def _parse_combustion(values: dict[str, str]) -> dict:
    # The fuel key is the identity, so 'Natural gas' and 'natural_gas' in one file are a duplicate.
    return {"name": fuel_key(_name(values, "name", 128)), "unit": _name(values, "unit", 32),
            "ef_kg_co2eq_per_unit": _number(values, "ef_kg_co2eq_per_unit", min=0, allow_empty=False)}


COMBUSTION_SPEC = FactorKindSpec(
    name="energy_combustion",
    model=EnergyCombustionFactor,
    columns=(ColumnSpec("name", required=True), ColumnSpec("unit"), ColumnSpec("ef_kg_co2eq_per_unit", required=True)),
    identity=("name",),
    parse_row=_parse_combustion,
)


# --------------------------------------------------------------------------------- embodied energy
class EmbodiedEnergyFactor(Factor):
    """kg CO2-eq per m² of one construction/renovation category of a building (or of `default`)."""

    building_name = models.CharField(max_length=64, help_text=_("'default' = buildings without rows of their own."))
    category = models.CharField(max_length=16, choices=[(c, c) for c in EMBODIED_CATEGORIES])
    ef_kgco2eq_per_m2 = _decimal_field()

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kgco2eq_per_m2", "category")

    class Meta:
        verbose_name = _("embodied energy factor")
        verbose_name_plural = _("embodied energy factors")
        ordering = ["year", "building_name", "category"]
        constraints = [
            models.UniqueConstraint(fields=["year", "building_name", "category"], name="embodied_factor_identity"),
            models.CheckConstraint(condition=Q(category__in=EMBODIED_CATEGORIES),
                                   name="embodied_factor_category_valid"),
            models.CheckConstraint(condition=Q(ef_kgco2eq_per_m2__gte=0), name="embodied_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.building_name}/{self.category}: {self.ef_kgco2eq_per_m2} kg/m²"


def canonical_embodied_category(text: str, column: str = "category") -> str:
    key = text.strip().lower().replace("_", "-")
    if key not in EMBODIED_CATEGORIES:
        raise CellError(f"'{text}' is not one of: {', '.join(EMBODIED_CATEGORIES)}", column=column)
    return key


def _parse_embodied(values: dict[str, str]) -> dict:
    building = _name(values, "building_name", 64)
    if building.lower() == EMBODIED_DEFAULT_BUILDING:
        building = EMBODIED_DEFAULT_BUILDING
    return {"building_name": building, "category": canonical_embodied_category(values["category"]),
            "ef_kgco2eq_per_m2": _number(values, "ef_kgco2eq_per_m2", min=0, allow_empty=False)}


EMBODIED_SPEC = FactorKindSpec(
    name="embodied_energy",
    model=EmbodiedEnergyFactor,
    columns=(ColumnSpec("building_name", required=True), ColumnSpec("category", required=True),
             ColumnSpec("ef_kgco2eq_per_m2", required=True)),
    identity=("building_name", "category"),
    parse_row=_parse_embodied,
)

SPECS = [ROOM_SPEC, COMBUSTION_SPEC, EMBODIED_SPEC]
