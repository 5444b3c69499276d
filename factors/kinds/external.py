"""External cloud and AI factors.

Cloud: kg CO2-eq per unit of `currency` spent, by (service_type, provider).
AI: `ef_kg_co2eq_per_request` by (provider, usage_type). Despite its name the value is in **grams** per
request, as in the reference files (product.md §5.2); the entry formula divides by 1000.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from carbon import taxonomy
from factors.base import Factor, FactorKindSpec, non_negative
from factors.kinds.purchases import check_lengths, parse_amount, parse_currency
from infra.csvio import CellError, ColumnSpec

SERVICE_TYPES = ("storage", "compute", "virtualisation")
# Spellings the reference and its French labels use, onto the three stored values.
_SERVICE_ALIASES = {"storage": "storage", "stockage": "storage", "compute": "compute", "calcul": "compute",
                    "virtualisation": "virtualisation", "virtualization": "virtualisation"}


def parse_service_type(text: str, column: str = "service_type") -> str:
    key = (text or "").strip().lower()
    if key not in _SERVICE_ALIASES:
        raise CellError(f"'{text}' is not one of: {', '.join(SERVICE_TYPES)}", column=column)
    taxonomy.cloud_leaf(key)  # the leaf exists for every accepted spelling
    return _SERVICE_ALIASES[key]


def text_key(text: str) -> str:
    """How providers and usage types are matched: trimmed and case-insensitive (product.md §5.15)."""
    return (text or "").strip().lower()


class ExternalCloudFactor(Factor):
    """kg CO2-eq per unit of currency spent on one cloud service of one provider."""

    service_type = models.CharField(max_length=16, choices=[(s, s) for s in SERVICE_TYPES])
    provider = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, default="EUR", help_text=_("ISO 4217, upper case."))
    ef_kg_co2eq_per_currency = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_currency", "currency")

    class Meta:
        verbose_name = _("external cloud factor")
        verbose_name_plural = _("external cloud factors")
        ordering = ["year", "service_type", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["year", "service_type", "provider"], name="external_cloud_factor_identity"),
            models.CheckConstraint(condition=Q(service_type__in=SERVICE_TYPES),
                                   name="external_cloud_factor_service_valid"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                   name="external_cloud_factor_currency_iso"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_currency__gte=0),
                                   name="external_cloud_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.service_type} {self.provider}: {self.ef_kg_co2eq_per_currency}/{self.currency}"


class ExternalAIFactor(Factor):
    """Grams CO2-eq per request to one AI provider for one usage type (field name kept from the reference)."""

    provider = models.CharField(max_length=128)
    usage_type = models.CharField(max_length=64)
    ef_kg_co2eq_per_request = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative(),
                                                  help_text=_("Grams CO2-eq per request (reference unit)."))

    history = HistoricalRecords()

    VALUE_FIELDS = ("ef_kg_co2eq_per_request",)

    class Meta:
        verbose_name = _("external AI factor")
        verbose_name_plural = _("external AI factors")
        ordering = ["year", "provider", "usage_type"]
        constraints = [
            models.UniqueConstraint(fields=["year", "provider", "usage_type"], name="external_ai_factor_identity"),
            models.CheckConstraint(condition=Q(ef_kg_co2eq_per_request__gte=0), name="external_ai_factor_ef_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.provider} {self.usage_type}: {self.ef_kg_co2eq_per_request} g/request"


def _parse_cloud(values: dict[str, str]) -> dict:
    return check_lengths(ExternalCloudFactor, {
        "service_type": parse_service_type(values["service_type"]), "provider": values["provider"],
        "currency": parse_currency(values.get("currency", ""), "EUR"),
        "ef_kg_co2eq_per_currency": parse_amount(values, "ef_kg_co2eq_per_currency", min=0, allow_empty=False)})


def _parse_ai(values: dict[str, str]) -> dict:
    return check_lengths(ExternalAIFactor, {
        "provider": values["provider"], "usage_type": values["usage_type"],
        "ef_kg_co2eq_per_request": parse_amount(values, "ef_kg_co2eq_per_request", min=0, allow_empty=False)})


SPECS = [
    FactorKindSpec(
        name="external_cloud",
        model=ExternalCloudFactor,
        columns=(ColumnSpec("service_type", required=True), ColumnSpec("provider", required=True),
                 ColumnSpec("currency"), ColumnSpec("ef_kg_co2eq_per_currency", required=True)),
        identity=("service_type", "provider"),
        parse_row=_parse_cloud,
    ),
    FactorKindSpec(
        name="external_ai",
        model=ExternalAIFactor,
        columns=(ColumnSpec("provider", required=True), ColumnSpec("usage_type", required=True),
                 ColumnSpec("ef_kg_co2eq_per_request", required=True)),
        identity=("provider", "usage_type"),
        parse_row=_parse_ai,
    ),
]
