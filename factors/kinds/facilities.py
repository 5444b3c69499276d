"""Research-facility factors: a facility's total use for the year and the emissions it is shared out by.

A facility is itself a unit: `researchfacility_id` is the facility unit's cf. A factor whose sums are
empty takes them, at compute time, from the emissions of that unit for the year (reference-domain §4.4);
they are never written back. Entries computed before the facility unit's own data changed keep the old
share until they are recomputed (a factor re-import or a recalculation of the kind).

Identity is the facility id (and, for animal facilities, the animal type) — what an entry names. The
facility name is descriptive: with the name in the identity, two rows of one id could coexist and an
entry would not know which to use. Ids are matched exactly (they are cfs or codes such as `CIBM-GE`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factors.base import Factor, FactorKindSpec, non_negative
from infra.csvio import ColumnSpec, decimal_cell, parse_choice, text_cell

ANIMAL_TYPES = ("mice", "fish")
# The six sources an animal facility's emissions are shared out by (csv-formats.md), in CSV order.
ANIMAL_SOURCES = ("processemissions", "building_energycombustions", "building_rooms", "purchases_common",
                  "purchases_additional", "equipments")


def _amount(verbose_name: str = "", *, null: bool = False) -> models.DecimalField:
    return models.DecimalField(verbose_name or None, max_digits=20, decimal_places=6, null=null, blank=null,
                               validators=non_negative())


def _share() -> models.DecimalField:
    return models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True, validators=non_negative())


class ResearchFacilityFactor(Factor):
    """One shared research facility: its unit of use, its total use and the kg its use shares out."""

    researchfacility_id = models.CharField(_("facility id (cf)"), max_length=64)
    researchfacility_name = models.CharField(_("facility name"), max_length=255, blank=True)
    use_unit = models.CharField(max_length=32, help_text=_("e.g. hours, CHF. Entries must use the same unit."))
    total_use = _amount()
    kg_co2eq_sum = _amount(_("kg CO2-eq to share"), null=True)

    history = HistoricalRecords()

    VALUE_FIELDS = ("researchfacility_name", "use_unit", "total_use", "kg_co2eq_sum")

    class Meta:
        verbose_name = _("research facility factor")
        verbose_name_plural = _("research facility factors")
        ordering = ["year", "researchfacility_id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "researchfacility_id"], name="research_facility_factor_identity"),
            models.CheckConstraint(condition=models.Q(total_use__gte=0), name="research_facility_factor_total_ge_0"),
            models.CheckConstraint(condition=models.Q(kg_co2eq_sum__gte=0), name="research_facility_factor_sum_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.researchfacility_id} {self.researchfacility_name}: {self.total_use} {self.use_unit}"


class AnimalFacilityFactor(Factor):
    """One animal facility (mice or fish): for each source, the animals' share and the source's kg."""

    researchfacility_id = models.CharField(_("facility id (cf)"), max_length=64)
    researchfacility_name = models.CharField(_("facility name"), max_length=255, blank=True)
    researchfacility_type = models.CharField(_("animal type"), max_length=8, choices=[(t, t) for t in ANIMAL_TYPES])
    use_unit = models.CharField(max_length=32, help_text=_("e.g. housings. Entries must use the same unit."))
    total_use = _amount()
    processemissions_share = _share()
    building_energycombustions_share = _share()
    building_rooms_share = _share()
    purchases_common_share = _share()
    purchases_additional_share = _share()
    equipments_share = _share()
    kg_co2eq_sum_processemissions = _amount(null=True)
    kg_co2eq_sum_building_energycombustions = _amount(null=True)
    kg_co2eq_sum_building_rooms = _amount(null=True)
    kg_co2eq_sum_purchases_common = _amount(null=True)
    kg_co2eq_sum_purchases_additional = _amount(null=True)
    kg_co2eq_sum_equipments = _amount(null=True)

    history = HistoricalRecords()

    VALUE_FIELDS = ("researchfacility_name", "use_unit", "total_use", *(f"{s}_share" for s in ANIMAL_SOURCES),
                    *(f"kg_co2eq_sum_{s}" for s in ANIMAL_SOURCES))

    class Meta:
        verbose_name = _("animal facility factor")
        verbose_name_plural = _("animal facility factors")
        ordering = ["year", "researchfacility_id", "researchfacility_type"]
        constraints = [
            models.UniqueConstraint(fields=["year", "researchfacility_id", "researchfacility_type"],
                                    name="animal_facility_factor_identity"),
            models.CheckConstraint(condition=models.Q(researchfacility_type__in=ANIMAL_TYPES),
                                   name="animal_facility_factor_type_valid"),
            models.CheckConstraint(condition=models.Q(total_use__gte=0), name="animal_facility_factor_total_ge_0"),
            *(models.CheckConstraint(condition=models.Q(**{f"{s}_share__gte": 0, f"{s}_share__lte": 1}),
                                     name=f"animal_facility_factor_{s}_share_0_1") for s in ANIMAL_SOURCES),
            *(models.CheckConstraint(condition=models.Q(**{f"kg_co2eq_sum_{s}__gte": 0}),
                                     name=f"animal_facility_factor_{s}_sum_ge_0") for s in ANIMAL_SOURCES),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.researchfacility_id} {self.researchfacility_type}: {self.total_use} {self.use_unit}"


# ------------------------------------------------------------------------------------------ parsing
def animal_type_cell(text: str) -> str:
    return parse_choice(text, ANIMAL_TYPES, allow_empty=False, column="researchfacility_type")


def _parse_common(values: dict[str, str], model: type[Factor]) -> dict:
    field = model._meta.get_field
    return {
        "researchfacility_id": text_cell(values["researchfacility_id"], "researchfacility_id",
                                         field("researchfacility_id")),
        "researchfacility_name": text_cell(values.get("researchfacility_name", ""), "researchfacility_name",
                                           field("researchfacility_name"), required=False),
        "use_unit": text_cell(values["use_unit"], "use_unit", field("use_unit")),
        "total_use": decimal_cell(values["total_use"], "total_use", field("total_use")),
    }


def parse_research_facility(values: dict[str, str]) -> dict:
    field = ResearchFacilityFactor._meta.get_field("kg_co2eq_sum")
    return {**_parse_common(values, ResearchFacilityFactor),
            "kg_co2eq_sum": decimal_cell(values.get("kg_co2eq_sum", ""), "kg_co2eq_sum", field, allow_empty=True)}


def parse_animal_facility(values: dict[str, str]) -> dict:
    parsed = {**_parse_common(values, AnimalFacilityFactor),
              "researchfacility_type": animal_type_cell(values["researchfacility_type"])}
    field = AnimalFacilityFactor._meta.get_field
    for source in ANIMAL_SOURCES:
        share, total = f"{source}_share", f"kg_co2eq_sum_{source}"
        parsed[share] = decimal_cell(values.get(share, ""), share, field(share), max=1, allow_empty=True)
        parsed[total] = decimal_cell(values.get(total, ""), total, field(total), allow_empty=True)
    return parsed


_FACILITY = (ColumnSpec("researchfacility_id", required=True), ColumnSpec("researchfacility_name"))
_USE = (ColumnSpec("use_unit", required=True), ColumnSpec("total_use", required=True))

SPECS = [
    FactorKindSpec(
        name="research_facility", model=ResearchFacilityFactor,
        columns=(*_FACILITY, *_USE, ColumnSpec("kg_co2eq_sum")),
        identity=("researchfacility_id",), parse_row=parse_research_facility,
    ),
    FactorKindSpec(
        name="animal_facility", model=AnimalFacilityFactor,
        columns=(*_FACILITY, ColumnSpec("researchfacility_type", required=True), *_USE,
                 *(ColumnSpec(f"{s}_share") for s in ANIMAL_SOURCES),
                 *(ColumnSpec(f"kg_co2eq_sum_{s}") for s in ANIMAL_SOURCES)),
        identity=("researchfacility_id", "researchfacility_type"), parse_row=parse_animal_facility,
    ),
]
