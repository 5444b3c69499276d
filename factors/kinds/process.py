"""Process-emission factors: the global warming potential of a released gas (kg CO2-eq per unit)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factors.base import Factor, FactorKindSpec, non_negative
from infra.csvio import CellError, ColumnSpec, parse_decimal

PROCESS_CATEGORIES = ("CO2", "CH4", "N2O", "Refrigerant")


class ProcessEmissionFactor(Factor):
    """GWP of one gas (category, optional subcategory) for one year."""

    category = models.CharField(max_length=32)
    subcategory = models.CharField(max_length=128, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    ef_kg_co2eq_per_unit = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_unit", "unit")

    class Meta:
        verbose_name = _("process emission factor")
        verbose_name_plural = _("process emission factors")
        ordering = ["year", "category", "subcategory"]
        constraints = [
            models.UniqueConstraint(fields=["year", "category", "subcategory"], name="process_factor_identity"),
            models.CheckConstraint(condition=models.Q(ef_kg_co2eq_per_unit__gte=0), name="process_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.category}/{self.subcategory or '*'}: {self.ef_kg_co2eq_per_unit}"


def canonical_category(text: str, column: str = "category") -> str:
    for category in PROCESS_CATEGORIES:
        if text.strip().lower() in {category.lower(), category.lower() + "s"}:
            return category
    raise CellError(f"'{text}' is not one of: {', '.join(PROCESS_CATEGORIES)}", column=column)


def _parse(values: dict[str, str]) -> dict:
    ef = parse_decimal(values["ef_kg_co2eq_per_unit"], min=0, allow_empty=False, column="ef_kg_co2eq_per_unit")
    return {"category": canonical_category(values["category"]), "subcategory": values.get("subcategory", ""),
            "unit": values.get("unit", ""), "ef_kg_co2eq_per_unit": ef}


SPEC = FactorKindSpec(
    name="process_emission",
    model=ProcessEmissionFactor,
    columns=(ColumnSpec("category", required=True), ColumnSpec("subcategory"), ColumnSpec("unit"),
             ColumnSpec("ef_kg_co2eq_per_unit", required=True)),
    identity=("category", "subcategory"),
    parse_row=_parse,
)
