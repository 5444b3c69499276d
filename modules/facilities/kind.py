"""Research facilities: a unit's use of a shared facility carries its share of the facility's emissions.

research_facility: kg = use / total_use × kg_co2eq_sum (total_use 0 → 0).
animal_facility:   kg = Σ_source use × <source>_share / total_use × kg_co2eq_sum_<source>, over the sources
                   that have both a share and a sum (none → no emission).
Both need the entry's use_unit to be the factor's (case-insensitive), else no emission. A factor sum left
empty is taken from the facility unit's emissions of the year (reference-domain §4.4) with one grouped
query for all the facilities of a computation; an unknown facility unit gives no such sum.
One leaf per entry, so a kg_co2eq override is accepted.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from carbon import taxonomy
from carbon.models import Emission
from carbon.taxonomy import EntryKind, Module
from factors.kinds.facilities import (
    ANIMAL_SOURCES,
    AnimalFacilityFactor,
    ResearchFacilityFactor,
    animal_type_cell,
)
from infra.csvio import ColumnSpec, decimal_cell, text_cell
from modules.base import Leaf
from modules.facilities.models import AnimalFacilityUse, ResearchFacilityUse
from modules.importing import OVERRIDE_COLUMN
from modules.registry import ComputeContext, EntryKindSpec, RowContext
from units.models import Unit

# What a facility's computed kg_co2eq_sum covers: process + buildings (rooms, combustion, embodied energy)
# + equipment + purchases (incl. additional). Not travel, headcount, cloud/AI or its own facility use.
FACILITY_SUM_MODULES = (Module.process_emissions, Module.buildings, Module.equipment, Module.purchase)
# Animal facility source → emission-type subtrees (most specific first: additional purchases before purchases).
_SOURCE_ROOTS = (
    ("processemissions", "process_emissions"),
    ("building_energycombustions", "buildings__combustion"),
    ("building_rooms", "buildings__rooms"),
    ("purchases_additional", "purchases__additional"),
    ("purchases_common", "purchases"),
    ("equipments", "equipment"),
)


def animal_source(emission_type: int) -> str | None:
    """The animal-facility source an emission type counts in (None: embodied energy)."""
    name = taxonomy.get(emission_type).name
    return next((source for source, root in _SOURCE_ROOTS if name == root or name.startswith(root + "__")), None)


def facility_emissions(year: int, cfs) -> dict[str, dict[int, Decimal]]:
    """cf → {emission type: kg} of the facility units' own results for the year; unknown cfs are absent."""
    units = dict(Unit.objects.filter(institutional_id__in=set(cfs)).values_list("pk", "institutional_id"))
    result: dict[str, dict[int, Decimal]] = {cf: {} for cf in units.values()}
    if not units:
        return result
    rows = (Emission.objects.filter(year=year, unit_id__in=list(units), module__in=[m.value for m in
                                                                                    FACILITY_SUM_MODULES])
            .values_list("unit_id", "emission_type").order_by().annotate(kg=Sum("kg_co2eq")))
    for unit_id, emission_type, kg in rows:
        result[units[unit_id]][emission_type] = kg
    return result


def common_sum(by_type: dict[int, Decimal]) -> Decimal:
    return sum(by_type.values(), Decimal(0))


def animal_sums(by_type: dict[int, Decimal]) -> dict[str, Decimal]:
    sums = dict.fromkeys(ANIMAL_SOURCES, Decimal(0))
    for emission_type, kg in by_type.items():
        source = animal_source(emission_type)
        if source:
            sums[source] += kg
    return sums


def same_unit(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


# ------------------------------------------------------------------------------------------ lookups
def _research_factors(year: int) -> dict[str, ResearchFacilityFactor]:
    return {f.researchfacility_id: f for f in ResearchFacilityFactor.objects.filter(year=year)}


def _animal_factors(year: int) -> dict[tuple[str, str], AnimalFacilityFactor]:
    return {(f.researchfacility_id, f.researchfacility_type): f for f in AnimalFacilityFactor.objects.filter(year=year)}


def _known_units(factors) -> set[str]:
    cfs = {f.researchfacility_id for f in factors}
    return set(Unit.objects.filter(institutional_id__in=cfs).values_list("institutional_id", flat=True))


def animal_terms(factor: AnimalFacilityFactor, computed: dict[str, Decimal] | None):
    """(source, share, sum, sum was computed) for each source that has a share and a sum."""
    terms = []
    for source in ANIMAL_SOURCES:
        share, total = getattr(factor, f"{source}_share"), getattr(factor, f"kg_co2eq_sum_{source}")
        if share is None:
            continue
        if total is None and computed is not None:
            terms.append((source, share, computed[source], True))
        elif total is not None:
            terms.append((source, share, total, False))
    return terms


# -------------------------------------------------------------------------------------------- parse
def _parse_use(values: dict[str, str], model) -> dict:
    field = model._meta.get_field
    return {
        "researchfacility_id": text_cell(values["researchfacility_id"], "researchfacility_id",
                                         field("researchfacility_id")),
        "researchfacility_name": text_cell(values["researchfacility_name"], "researchfacility_name",
                                           field("researchfacility_name")),
        "use": decimal_cell(values["use"], "use", field("use")),
        "use_unit": text_cell(values["use_unit"], "use_unit", field("use_unit")),
    }


def _unit_warning(parsed: dict, factor, ctx: RowContext) -> bool:
    if same_unit(parsed["use_unit"], factor.use_unit):
        return False
    ctx.warn("use_unit", f"use_unit '{parsed['use_unit']}' differs from the facility factor's '{factor.use_unit}': "
                         f"the row is kept with no emission")
    return True


def parse_research_facility(values: dict[str, str], ctx: RowContext) -> dict:
    parsed = _parse_use(values, ResearchFacilityUse)
    if values.get(OVERRIDE_COLUMN):
        return parsed  # an override needs no factor
    factors = ctx.memo("research_facility_factors", lambda: _research_factors(ctx.year))
    factor = factors.get(parsed["researchfacility_id"])
    if factor is None:
        ctx.warn("researchfacility_id", f"no research_facility factor for facility '{parsed['researchfacility_id']}' "
                                        f"in {ctx.year}: the row is kept with no emission until one is imported")
    elif not _unit_warning(parsed, factor, ctx) and factor.kg_co2eq_sum is None:
        known = ctx.memo("research_facility_units", lambda: _known_units(factors.values()))
        if factor.researchfacility_id not in known:
            ctx.warn("researchfacility_id", f"facility unit '{factor.researchfacility_id}' is unknown and its factor "
                                            f"has no kg_co2eq_sum: the row is kept with no emission")
    return parsed


def parse_animal_facility(values: dict[str, str], ctx: RowContext) -> dict:
    parsed = {**_parse_use(values, AnimalFacilityUse),
              "researchfacility_type": animal_type_cell(values["researchfacility_type"])}
    if values.get(OVERRIDE_COLUMN):
        return parsed
    factors = ctx.memo("animal_facility_factors", lambda: _animal_factors(ctx.year))
    key = (parsed["researchfacility_id"], parsed["researchfacility_type"])
    factor = factors.get(key)
    if factor is None:
        ctx.warn("researchfacility_id", f"no animal_facility factor for facility '{key[0]}' ({key[1]}) in "
                                        f"{ctx.year}: the row is kept with no emission until one is imported")
    elif not _unit_warning(parsed, factor, ctx):
        known = ctx.memo("animal_facility_units", lambda: _known_units(factors.values()))
        computed = dict.fromkeys(ANIMAL_SOURCES, Decimal(0)) if factor.researchfacility_id in known else None
        if not animal_terms(factor, computed):
            sums_missing = any(getattr(factor, f"{s}_share") is not None for s in ANIMAL_SOURCES)
            unknown = f"; facility unit '{factor.researchfacility_id}' is unknown" if sums_missing else ""
            ctx.warn(None, f"the facility factor has no source with both a share and a sum{unknown}: "
                           f"the row is kept with no emission")
    return parsed


# ------------------------------------------------------------------------------------------ compute
def _animal_facility_sums(year: int, factors) -> dict[str, dict[str, Decimal]]:
    """cf → source → computed kg, for the facilities whose factor leaves some source sum empty."""
    cfs = [f.researchfacility_id for f in factors
           if any(getattr(f, f"kg_co2eq_sum_{s}") is None for s in ANIMAL_SOURCES)]
    return {cf: animal_sums(by_type) for cf, by_type in facility_emissions(year, cfs).items()}


def compute_research_facility(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = ctx.memo("research_facility_factors", lambda: _research_factors(ctx.year))
    emissions = ctx.memo("research_facility_emissions", lambda: facility_emissions(
        ctx.year, [f.researchfacility_id for f in factors.values() if f.kg_co2eq_sum is None]))
    result = {}
    for entry in entries:
        factor = factors.get(entry.researchfacility_id)
        result[entry.pk] = []
        if factor is None or not same_unit(entry.use_unit, factor.use_unit):
            continue
        values = dict(factor.values_used())  # extended below: never mutate the cached dict
        total = factor.kg_co2eq_sum
        if total is None:
            if factor.researchfacility_id not in emissions:
                continue
            total = common_sum(emissions[factor.researchfacility_id])
            values.update(kg_co2eq_sum=str(total), kg_co2eq_sum_computed=True)
        kg = Decimal(0) if not factor.total_use else entry.use / factor.total_use * total
        # The facility's own name decides IT facility or not: entries may spell it their way.
        result[entry.pk] = [Leaf(emission_type=taxonomy.research_facility_leaf(factor.researchfacility_name),
                                 kg_co2eq=kg, factor_id=factor.pk, factor_values=values)]
    return result


def compute_animal_facility(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = ctx.memo("animal_facility_factors", lambda: _animal_factors(ctx.year))
    sums = ctx.memo("animal_facility_sums", lambda: _animal_facility_sums(ctx.year, factors.values()))
    result = {}
    for entry in entries:
        factor = factors.get((entry.researchfacility_id, entry.researchfacility_type))
        result[entry.pk] = []
        if factor is None or not same_unit(entry.use_unit, factor.use_unit):
            continue
        terms = animal_terms(factor, sums.get(factor.researchfacility_id))
        if not terms:
            continue
        values = dict(factor.values_used())  # extended below: never mutate the cached dict
        kg = Decimal(0)
        for source, share, total, computed in terms:
            if factor.total_use:
                kg += entry.use * share / factor.total_use * total
            if computed:
                values[f"kg_co2eq_sum_{source}"] = str(total)
                values[f"kg_co2eq_sum_{source}_computed"] = True
        result[entry.pk] = [Leaf(emission_type=taxonomy.animal_facility_leaf(entry.researchfacility_type),
                                 kg_co2eq=kg, factor_id=factor.pk, factor_values=values)]
    return result


_USE_COLUMNS = (ColumnSpec("use", required=True), ColumnSpec("use_unit", required=True), ColumnSpec("note"))
_FACILITY_COLUMNS = (ColumnSpec("researchfacility_id", required=True),
                     ColumnSpec("researchfacility_name", required=True))


# The kinds whose emissions make up a facility's computed sums (FACILITY_SUM_MODULES).
FACILITY_SUM_KINDS = ("process_emission", "building_room", "energy_combustion", "equipment", "purchase",
                      "additional_purchase")

SPECS = [
    EntryKindSpec(
        name="research_facility",
        emission_roots=("research_facilities__facilities", "research_facilities__it_facilities"),
        kinds=(EntryKind.research_facility,),
        model=ResearchFacilityUse,
        columns=(*_FACILITY_COLUMNS, *_USE_COLUMNS),
        parse_row=parse_research_facility,
        compute=compute_research_facility,
        override_leaf=lambda entry: taxonomy.research_facility_leaf(entry.researchfacility_name),
        factor_kinds=("research_facility",),
        measured=("use",),
        depends_on=FACILITY_SUM_KINDS,
        label="Research facilities",
    ),
    EntryKindSpec(
        name="animal_facility",
        emission_roots=("research_facilities__animal",),
        kinds=(EntryKind.animal_facility,),
        model=AnimalFacilityUse,
        columns=(*_FACILITY_COLUMNS, ColumnSpec("researchfacility_type", required=True), *_USE_COLUMNS),
        parse_row=parse_animal_facility,
        compute=compute_animal_facility,
        override_leaf=lambda entry: taxonomy.animal_facility_leaf(entry.researchfacility_type),
        factor_kinds=("animal_facility",),
        measured=("use",),
        depends_on=FACILITY_SUM_KINDS,
        label="Animal facilities (mice and fish)",
    ),
]
