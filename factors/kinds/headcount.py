"""Headcount factors: per-FTE quantities of food, waste and commuting and their emission factors.

Two tables (`MemberFactor`, `StudentFactor`) over one abstract base rather than one table with a
`kind` column: the shared factor importer upserts and flags stale per model and year, so with one
table a `factors:member` re-import would flag every student factor stale (and the reverse). Columns,
constraints, parsing and the leaf rule are shared through the base, so the two kinds cannot drift.
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from carbon import taxonomy
from factors.base import Factor, FactorKindSpec, non_negative
from infra.csvio import CellError, ColumnSpec, decimal_cell

HEADCOUNT_CATEGORIES = ("food", "waste", "commuting")
# The physical quantity of a leaf (reference-domain §4.1 step 7) when the factor's `unit` is empty.
DEFAULT_QUANTITY_UNITS = {"food": "kg", "waste": "kg", "commuting": "km"}
UNIT_MAX_LENGTH = 16  # = carbon.Emission.quantity_unit, where the factor's unit is copied


class HeadcountFactor(Factor):
    """Per FTE of one headcount leaf (e.g. waste / recycling / paper): how many units, and kg per unit."""

    headcount_category = models.CharField(max_length=16, choices=[(c, c) for c in HEADCOUNT_CATEGORIES])
    headcount_class = models.CharField(max_length=64, blank=True)
    headcount_subclass = models.CharField(max_length=64, blank=True)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH, blank=True, help_text=_("Empty: kg (food, waste), km."))
    number_of_unit_per_fte = models.DecimalField(max_digits=18, decimal_places=6, validators=non_negative())
    ef_kg_co2eq_per_unit = models.DecimalField(max_digits=18, decimal_places=8, validators=non_negative())

    VALUE_FIELDS = ("number_of_unit_per_fte", "ef_kg_co2eq_per_unit", "unit")

    class Meta:
        abstract = True
        ordering = ["year", "headcount_category", "headcount_class", "headcount_subclass"]
        constraints = [
            models.UniqueConstraint(fields=["year", "headcount_category", "headcount_class", "headcount_subclass"],
                                    name="%(class)s_identity"),
            models.CheckConstraint(condition=models.Q(headcount_category__in=HEADCOUNT_CATEGORIES),
                                   name="%(class)s_category_valid"),
            models.CheckConstraint(condition=models.Q(number_of_unit_per_fte__gte=0), name="%(class)s_units_ge_0"),
            models.CheckConstraint(condition=models.Q(ef_kg_co2eq_per_unit__gte=0), name="%(class)s_ef_ge_0"),
        ]

    def __str__(self) -> str:
        path = "/".join(p for p in (self.headcount_category, self.headcount_class, self.headcount_subclass) if p)
        return f"{self.year} {path}: {self.number_of_unit_per_fte} × {self.ef_kg_co2eq_per_unit}"

    @property
    def emission_type(self) -> int:
        return taxonomy.headcount_leaf(self.headcount_category, self.headcount_class, self.headcount_subclass)

    @property
    def quantity_unit(self) -> str:
        return self.unit or DEFAULT_QUANTITY_UNITS[self.headcount_category]


class MemberFactor(HeadcountFactor):
    history = HistoricalRecords()

    class Meta(HeadcountFactor.Meta):
        verbose_name = _("member factor")
        verbose_name_plural = _("member factors")


class StudentFactor(HeadcountFactor):
    history = HistoricalRecords()

    class Meta(HeadcountFactor.Meta):
        verbose_name = _("student factor")
        verbose_name_plural = _("student factors")


# ------------------------------------------------------------------------------------------ parsing
def _key(text: str) -> str:
    """Classification text as the taxonomy spells it ('Public transport' → 'public_transport'), so that
    a re-import in another spelling updates the same factor instead of adding one."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def headcount_leaf_checked(category: str, class_: str, subclass: str) -> int:
    """taxonomy.headcount_leaf, with the error pinned to the column that is wrong."""
    try:
        return taxonomy.headcount_leaf(category, class_, subclass)
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("unknown headcount category"):
            column = "headcount_category"
        elif "needs a finer class" in reason:
            column = "headcount_subclass" if class_ else "headcount_class"
        else:  # "unknown <node> class 'part'": the part is the class unless the class itself resolved
            column = "headcount_class" if f"'{class_}'" in reason else "headcount_subclass"
        raise CellError(reason, column=column) from None


def parse_factor(values: dict[str, str], model: type[HeadcountFactor] = MemberFactor) -> dict:
    category, class_, subclass = (_key(values.get(c, "")) for c in
                                  ("headcount_category", "headcount_class", "headcount_subclass"))
    if subclass and not class_:
        raise CellError("a subclass needs a class", column="headcount_subclass")
    headcount_leaf_checked(category, class_, subclass)
    for column, text in (("headcount_class", class_), ("headcount_subclass", subclass)):
        if len(text) > 64:
            raise CellError("at most 64 characters", column=column)
    unit = values.get("unit", "")
    if len(unit) > UNIT_MAX_LENGTH:
        raise CellError(f"at most {UNIT_MAX_LENGTH} characters", column="unit")
    fields = {f.name: f for f in model._meta.fields}
    return {
        "headcount_category": category, "headcount_class": class_, "headcount_subclass": subclass, "unit": unit,
        "number_of_unit_per_fte": decimal_cell(values["number_of_unit_per_fte"], "number_of_unit_per_fte",
                                               fields["number_of_unit_per_fte"]),
        "ef_kg_co2eq_per_unit": decimal_cell(values["ef_kg_co2eq_per_unit"], "ef_kg_co2eq_per_unit",
                                             fields["ef_kg_co2eq_per_unit"]),
    }


COLUMNS = (ColumnSpec("headcount_category", required=True), ColumnSpec("headcount_class"),
           ColumnSpec("headcount_subclass"), ColumnSpec("unit"), ColumnSpec("number_of_unit_per_fte", required=True),
           ColumnSpec("ef_kg_co2eq_per_unit", required=True))
IDENTITY = ("headcount_category", "headcount_class", "headcount_subclass")

SPECS = [
    FactorKindSpec(name="member", model=MemberFactor, columns=COLUMNS, identity=IDENTITY,
                   parse_row=lambda values: parse_factor(values, MemberFactor)),
    FactorKindSpec(name="student", model=StudentFactor, columns=COLUMNS, identity=IDENTITY,
                   parse_row=lambda values: parse_factor(values, StudentFactor)),
]
