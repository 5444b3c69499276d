"""Professional-travel factors: plane (per haul band and cabin class) and train (per country), kg CO2-eq per km.

A plane factor row carries its haul band's distance bounds: the band of a flight is the one whose
[min_distance, max_distance) holds the one-trip distance (reference-domain §4.2), then the factor is
(band, cabin class). A train factor is per country (ISO-2) with a `RoW` fallback.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factors.base import Factor, FactorKindSpec, non_negative
from factors.geo import REST_OF_WORLD
from infra.csvio import CellError, ColumnSpec, parse_choice, parse_decimal

__all__ = ["PLANE_CABIN_CLASSES", "PLANE_SPEC", "SPECS", "TRAIN_CABIN_CLASSES", "TRAIN_SPEC", "PlaneFactor",
           "PlaneFactorIndex", "TrainFactor", "train_factor_country"]

PLANE_CABIN_CLASSES = ("economy", "business", "first")
TRAIN_CABIN_CLASSES = ("first", "second")


class PlaneFactor(Factor):
    """kg CO2-eq per km for one cabin class in one haul band of one year, with the band's bounds."""

    category = models.CharField(_("haul band"), max_length=64, help_text=_("e.g. short_to_medium_haul."))
    cabin_class = models.CharField(max_length=16, choices=[(c, c) for c in PLANE_CABIN_CLASSES])
    ef_kg_co2eq_per_km = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())
    rfi_adjustment = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal(1),
                                         help_text=_("Radiative forcing index; multiplies kg, never the km."))
    min_distance = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0),
                                       validators=non_negative(), help_text=_("km, inclusive."))
    max_distance = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True,
                                       help_text=_("km, exclusive; empty = no upper bound."))

    history = HistoricalRecords()

    VALUE_FIELDS = ("category", "ef_kg_co2eq_per_km", "rfi_adjustment", "min_distance", "max_distance")

    class Meta:
        verbose_name = _("plane factor")
        verbose_name_plural = _("plane factors")
        ordering = ["year", "min_distance", "category", "cabin_class"]
        constraints = [
            models.UniqueConstraint(fields=["year", "category", "cabin_class"], name="plane_factor_identity"),
            models.CheckConstraint(condition=Q(cabin_class__in=PLANE_CABIN_CLASSES), name="plane_factor_cabin_valid"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_km__gte=0), name="plane_factor_ef_ge_0"),
            models.CheckConstraint(condition=Q(rfi_adjustment__gt=0), name="plane_factor_rfi_gt_0"),
            models.CheckConstraint(condition=Q(min_distance__gte=0), name="plane_factor_min_ge_0"),
            models.CheckConstraint(
                condition=Q(max_distance__isnull=True) | Q(max_distance__gt=models.F("min_distance")),
                name="plane_factor_band_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.category}/{self.cabin_class}: {self.ef_kg_co2eq_per_km} × RFI {self.rfi_adjustment}"

    def holds(self, km) -> bool:
        """Whether a one-trip distance falls in this factor's band: min ≤ km < max."""
        return self.min_distance <= km and (self.max_distance is None or km < self.max_distance)


class PlaneFactorIndex:
    """A year's plane factors, for looking up a flight's factor without a query per flight."""

    def __init__(self, factors):
        factors = sorted(factors, key=lambda f: (f.min_distance, f.category, f.cabin_class))
        self.by_key = {(f.category, f.cabin_class): f for f in factors}
        self.bands: list[PlaneFactor] = []  # one representative row per band, lowest min_distance first
        seen = set()
        for factor in factors:
            if factor.category not in seen:
                seen.add(factor.category)
                self.bands.append(factor)

    @classmethod
    def for_year(cls, year: int) -> PlaneFactorIndex:
        # Stale factors are kept and still used (factors/base.py): no is_stale filter.
        return cls(PlaneFactor.objects.filter(year=year))

    def band(self, km) -> str | None:
        """The haul band of a one-trip distance: the first band (by min_distance) holding it."""
        return next((f.category for f in self.bands if f.holds(km)), None)

    def factor(self, km, cabin_class: str) -> PlaneFactor | None:
        band = self.band(km)
        return None if band is None else self.by_key.get((band, cabin_class))


class TrainFactor(Factor):
    """kg CO2-eq per km of train travel in one country (or `RoW`, the fallback) for one year."""

    country_code = models.CharField(max_length=3, help_text=_("ISO 3166-1 alpha-2, or RoW for the rest of the world."))
    ef_kg_co2eq_per_km = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("country_code", "ef_kg_co2eq_per_km")

    class Meta:
        verbose_name = _("train factor")
        verbose_name_plural = _("train factors")
        ordering = ["year", "country_code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "country_code"], name="train_factor_identity"),
            models.CheckConstraint(condition=Q(country_code__regex=r"^([A-Z]{2}|RoW)$"),
                                   name="train_factor_country_iso2_or_row"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_km__gte=0), name="train_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.country_code}: {self.ef_kg_co2eq_per_km}"


# --------------------------------------------------------------------------------------------- CSV
def _decimal(values: dict[str, str], column: str, **kwargs) -> Decimal | None:
    return parse_decimal(values.get(column, ""), column=column, **kwargs)


def _parse_plane(values: dict[str, str]) -> dict:
    category = " ".join(values["category"].lower().split())
    if len(category) > 64:
        raise CellError(f"at most 64 characters (got {len(category)})", column="category")
    cabin_class = parse_choice(values["cabin_class"], PLANE_CABIN_CLASSES, allow_empty=False, column="cabin_class")
    rfi = _decimal(values, "rfi_adjustment")
    if rfi is not None and rfi <= 0:
        raise CellError(f"must be > 0 (got {values['rfi_adjustment']})", column="rfi_adjustment")
    low = _decimal(values, "min_distance", min=0)
    high = _decimal(values, "max_distance", min=0)
    low = Decimal(0) if low is None else low
    if high is not None and high <= low:
        raise CellError(f"must be greater than min_distance ({low}) (got {values['max_distance']})",
                        column="max_distance")
    return {
        "category": category, "cabin_class": cabin_class,
        "ef_kg_co2eq_per_km": _decimal(values, "ef_kg_co2eq_per_km", min=0, allow_empty=False),
        "rfi_adjustment": Decimal(1) if rfi is None else rfi,
        "min_distance": low, "max_distance": high,
    }


def train_factor_country(text: str, column: str = "country_code") -> str:
    """'ch' → 'CH'; 'row' / 'RoW' → 'RoW'; anything else is an error."""
    code = text.strip()
    if code.lower() == REST_OF_WORLD.lower():
        return REST_OF_WORLD
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise CellError(f"'{text}' is not a two-letter ISO country code or RoW", column=column)
    return code.upper()


def _parse_train(values: dict[str, str]) -> dict:
    return {"country_code": train_factor_country(values["country_code"]),
            "ef_kg_co2eq_per_km": _decimal(values, "ef_kg_co2eq_per_km", min=0, allow_empty=False)}


PLANE_SPEC = FactorKindSpec(
    name="plane",
    model=PlaneFactor,
    columns=(ColumnSpec("category", required=True), ColumnSpec("cabin_class", required=True),
             ColumnSpec("ef_kg_co2eq_per_km", required=True), ColumnSpec("rfi_adjustment"),
             ColumnSpec("min_distance"), ColumnSpec("max_distance")),
    identity=("category", "cabin_class"),
    parse_row=_parse_plane,
)

TRAIN_SPEC = FactorKindSpec(
    name="train",
    model=TrainFactor,
    columns=(ColumnSpec("country_code", required=True), ColumnSpec("ef_kg_co2eq_per_km", required=True)),
    identity=("country_code",),
    parse_row=_parse_train,
)

SPECS = [PLANE_SPEC, TRAIN_SPEC]
