"""Purchase factors: kg CO2-eq per unit of currency spent by purchase code, and per kg of additional purchases.

A purchase factor is identified by (year, purchase_institutional_code, purchase_additional_code): the
code and its blank-additional-code row (the per-code average) or its more specific additional codes.
The category is a property of the code (it routes entries whose file leaves it empty); the sample file
`purchases_common_factors_smoke.csv` has no two rows on that identity. Codes are stored upper-case:
they are identifiers, and one spelling keeps re-imports and lookups exact.
"""

from __future__ import annotations

import re
from functools import cache

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from carbon import taxonomy
from factors.base import Factor, FactorKindSpec, non_negative
from infra.csvio import CellError, ColumnSpec, parse_decimal

PURCHASE_CATEGORIES = ("scientific_equipment", "it_equipment", "consumable_accessories",
                       "biological_chemical_gaseous_product", "services", "vehicles", "other_purchases")
CURRENCY_RE = re.compile(r"[A-Z]{3}")


def parse_purchase_category(text: str, column: str = "purchase_category") -> str:
    """One of the seven category names (case-insensitive, '-' or ' ' for '_')."""
    try:
        return taxonomy.purchase_kind(text).name
    except ValueError:
        raise CellError(f"'{text}' is not one of: {', '.join(PURCHASE_CATEGORIES)}", column=column) from None


def parse_currency(text: str, default: str, column: str = "currency") -> str:
    """ISO 4217 code, stored upper-case as in the exchange-rate table; empty → `default`."""
    code = (text or "").strip().upper() or default
    if not CURRENCY_RE.fullmatch(code):
        raise CellError(f"'{text}' is not a currency code (three letters, e.g. CHF, EUR, USD)", column=column)
    return code


def parse_code(text: str) -> str:
    return (text or "").strip().upper()


def check_lengths(model: type[models.Model], row: dict) -> dict:
    """A text cell longer than its column is a row error, not a failed COPY (the CSV column is the field name).

    Shared by the equipment, purchase and external kinds (entries and factors); it would belong in a
    shared module (infra.csvio or modules.registry) once other kinds want it.
    """
    limits = _max_lengths(model)
    for name, value in row.items():
        limit = limits.get(name)
        if limit and isinstance(value, str) and len(value) > limit:
            raise CellError(f"at most {limit} characters (got {len(value)})", column=name)
    return row


@cache
def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    """Field name → max length, read once per model (checked for every cell of every imported row)."""
    return {f.name: f.max_length for f in model._meta.concrete_fields if f.max_length}


def parse_amount(values: dict[str, str], column: str, **limits):
    return parse_decimal(values.get(column, ""), column=column, **limits)


class PurchaseFactor(Factor):
    """kg CO2-eq per unit of `currency` spent on goods or services of one purchase code."""

    purchase_category = models.CharField(max_length=48, choices=[(c, c) for c in PURCHASE_CATEGORIES])
    purchase_institutional_code = models.CharField(max_length=64)
    purchase_institutional_description = models.CharField(max_length=255, blank=True)
    purchase_additional_code = models.CharField(max_length=32, blank=True,
                                                help_text=_("Empty = the code's average row."))
    currency = models.CharField(max_length=3, default="EUR", help_text=_("ISO 4217, upper case."))
    ef_kg_co2eq_per_currency = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_currency", "currency")

    class Meta:
        verbose_name = _("purchase factor")
        verbose_name_plural = _("purchase factors")
        ordering = ["year", "purchase_institutional_code", "purchase_additional_code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "purchase_institutional_code", "purchase_additional_code"],
                                    name="purchase_factor_identity"),
            models.CheckConstraint(condition=Q(purchase_category__in=PURCHASE_CATEGORIES),
                                   name="purchase_factor_category_valid"),
            models.CheckConstraint(condition=~Q(purchase_institutional_code=""), name="purchase_factor_code_set"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="purchase_factor_currency_iso"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_currency__gte=0), name="purchase_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        extra = f"+{self.purchase_additional_code}" if self.purchase_additional_code else ""
        return f"{self.year} {self.purchase_institutional_code}{extra}: {self.ef_kg_co2eq_per_currency}/{self.currency}"


class AdditionalPurchaseFactor(Factor):
    """kg CO2-eq per kg of an additional purchase (liquid nitrogen …), found by its name."""

    name = models.CharField(max_length=128)
    ef_kg_co2eq_per_kg = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_kg",)

    class Meta:
        verbose_name = _("additional purchase factor")
        verbose_name_plural = _("additional purchase factors")
        ordering = ["year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["year", "name"], name="additional_purchase_factor_identity"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_kg__gte=0),
                                   name="additional_purchase_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}: {self.ef_kg_co2eq_per_kg}"


def name_key(text: str) -> str:
    """How an additional purchase's name is matched: trimmed, case-insensitive, inner spaces collapsed."""
    return " ".join((text or "").lower().split())


def _parse_purchase(values: dict[str, str]) -> dict:
    return check_lengths(PurchaseFactor, {
        "purchase_category": parse_purchase_category(values["purchase_category"]),
        "purchase_institutional_code": parse_code(values["purchase_institutional_code"]),
        "purchase_institutional_description": values.get("purchase_institutional_description", ""),
        "purchase_additional_code": parse_code(values.get("purchase_additional_code", "")),
        "currency": parse_currency(values.get("currency", ""), "EUR"),
        "ef_kg_co2eq_per_currency": parse_amount(values, "ef_kg_co2eq_per_currency", min=0, allow_empty=False),
    })


def _parse_additional(values: dict[str, str]) -> dict:
    return check_lengths(AdditionalPurchaseFactor, {
        "name": " ".join(values["name"].split()),
        "ef_kg_co2eq_per_kg": parse_amount(values, "ef_kg_co2eq_per_kg", min=0, allow_empty=False)})


SPECS = [
    FactorKindSpec(
        name="purchase",
        model=PurchaseFactor,
        columns=(ColumnSpec("purchase_category", required=True),
                 ColumnSpec("purchase_institutional_code", required=True),
                 ColumnSpec("purchase_institutional_description"), ColumnSpec("purchase_additional_code"),
                 ColumnSpec("currency"), ColumnSpec("ef_kg_co2eq_per_currency", required=True)),
        identity=("purchase_institutional_code", "purchase_additional_code"),
        parse_row=_parse_purchase,
    ),
    FactorKindSpec(
        name="additional_purchase",
        model=AdditionalPurchaseFactor,
        columns=(ColumnSpec("name", required=True), ColumnSpec("ef_kg_co2eq_per_kg", required=True)),
        identity=("name",),
        parse_row=_parse_additional,
    ),
]
