"""Buildings: room energy (+ the embodied energy of the room's surface) and fuels burnt on site.

Building room, per component (reference-domain §4.3, our decision 6):
    lighting / cooling / ventilation = surface × kWh/m² × allocation ratio × ef
    heating_elec    = surface × heating kWh/m² × ratio × ef × conversion_factor   if energy_type is electric, else 0
    heating_thermal = the same                                                     if energy_type is thermal, else 0
The factor is the building's row for the room type, else its row with a blank room type. A room
without a room type gets all five components, booked under `miscellaneous`. When a factor exists,
all five rows are stored, the heating row that does not match the energy type with 0 kg, so the
entry always shows its five components.

Embodied energy is never entered: each room entry whose surface is known also yields one row per
embodied-energy factor of its building (else of the `default` building), kg = surface × ef — the
whole surface, no allocation ratio (reference §4.3) — booked under the `building_embodied_energy` kind.

Energy combustion: kg = quantity × ef of the fuel (matched by its fuel key: case, spaces and hyphens
do not matter).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.kinds.buildings import (
    EMBODIED_DEFAULT_BUILDING,
    BuildingRoomFactor,
    EmbodiedEnergyFactor,
    EnergyCombustionFactor,
    fuel_key,
    parse_room_type,
)
from factors.models import BuildingRoom
from infra.csvio import ColumnSpec, parse_decimal, parse_text
from modules.base import Leaf
from modules.buildings.models import BuildingRoomEntry, EnergyCombustion
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf

__all__ = ["COMBUSTION_SPEC", "ROOM_SPEC", "RoomRef", "compute_combustion", "compute_rooms", "parse_allocation_ratio",
           "parse_combustion_row", "parse_quantity", "parse_room_row", "resolve_room", "unit_matches"]


# ------------------------------------------------------------------------------- shared validation
def _text(values: dict[str, str], column: str, max_length: int) -> str:
    return parse_text(values.get(column, ""), max_length=max_length, column=column)


def parse_allocation_ratio(text: str | None, column: str = "room_allocation_ratio") -> Decimal:
    """The lab's share of the room, 0..1; empty = the whole room (1)."""
    ratio = parse_decimal(text, min=0, max=1, column=column)
    return Decimal(1) if ratio is None else ratio.quantize(Decimal("0.000001"))


def parse_quantity(text: str | None, column: str = "quantity") -> Decimal:
    return parse_decimal(text, min=0, allow_empty=False, column=column)


class RoomRef(NamedTuple):
    """What an entry needs of a reference room."""

    pk: int
    room_name: str
    building_name: str
    surface: float | None


def _room_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _room_index() -> tuple[dict[str, RoomRef], dict[str, RoomRef | None]]:
    """All reference rooms in one query: by exact name, and by name ignoring case and spacing
    (None there when two rooms collide, so a loose match is never a guess)."""
    exact: dict[str, RoomRef] = {}
    loose: dict[str, RoomRef | None] = {}
    for row in BuildingRoom.objects.values_list("pk", "room_name", "building_name", "room_surface_square_meter"):
        room = RoomRef(*row)
        exact[room.room_name] = room
        key = _room_key(room.room_name)
        loose[key] = None if key in loose else room
    return exact, loose


def resolve_room(room_name: str, ctx: RowContext | ComputeContext) -> RoomRef | None:
    """The reference room of that name (exact, else ignoring case and spacing), or None."""
    exact, loose = ctx.memo("building_rooms", _room_index)
    return exact.get(room_name) or loose.get(_room_key(room_name))


def unit_matches(entry_unit: str, factor_unit: str) -> bool:
    """An entry unit that differs from its factor's would give a wrong number; empty = the factor's."""
    entry_unit, factor_unit = entry_unit.strip().lower(), factor_unit.strip().lower()
    return not entry_unit or not factor_unit or entry_unit == factor_unit


def _warn_once(ctx: RowContext, key: tuple, column: str, reason: str) -> None:
    """One warning per distinct problem (at its first row), not one per row of a 500,000-row file."""
    seen = ctx.memo("buildings_warned", set)
    if key not in seen:
        seen.add(key)
        ctx.warn(column, reason)


# ------------------------------------------------------------------------------------ building room
def room_factor_index(year: int) -> dict[tuple[str, str], BuildingRoomFactor]:
    return {(f.building_name, f.room_type): f for f in BuildingRoomFactor.objects.filter(year=year)}


def room_factor(factors: dict[tuple[str, str], BuildingRoomFactor], building_name: str,
                room_type: str) -> BuildingRoomFactor | None:
    return factors.get((building_name, room_type or "")) or factors.get((building_name, ""))


def embodied_factor_index(year: int) -> dict[str, list[EmbodiedEnergyFactor]]:
    index: dict[str, list[EmbodiedEnergyFactor]] = defaultdict(list)
    for factor in EmbodiedEnergyFactor.objects.filter(year=year).order_by("category"):
        index[factor.building_name].append(factor)
    return dict(index)


def embodied_factors(index: dict[str, list[EmbodiedEnergyFactor]], building_name: str) -> list[EmbodiedEnergyFactor]:
    """The building's own rows when it has any, else the `default` rows (never a mix)."""
    return index.get(building_name) or index.get(EMBODIED_DEFAULT_BUILDING, [])


def parse_room_row(values: dict[str, str], ctx: RowContext) -> dict:
    room_name = _text(values, "room_name", 128)
    building_name = _text(values, "building_name", 64)
    parsed = {
        "building_location": _text(values, "building_location", 64),
        "building_name": building_name,
        "room_name": room_name,
        "room_type": parse_room_type(values.get("room_type", ""), allow_empty=False),
        "room_allocation_ratio": parse_allocation_ratio(values.get("room_allocation_ratio")),
    }
    room = resolve_room(room_name, ctx)
    parsed["room_id"] = room.pk if room else None
    if room is None:
        ctx.warn("room_name", f"unknown room '{room_name}' (kept, no emission)")
        return parsed
    if room.surface is None:
        ctx.warn("room_name", f"room '{room_name}' has no known surface (kept, no emission)")
    if room.building_name != building_name:
        ctx.warn("building_name", f"room '{room_name}' is in building '{room.building_name}' in the reference "
                                  f"rooms; the factors of '{building_name}' are used")
    factors = ctx.memo("building_room_factors", lambda: room_factor_index(ctx.year))
    if room_factor(factors, building_name, parsed["room_type"]) is None:
        _warn_once(ctx, ("room_factor", building_name, parsed["room_type"]), "building_name",
                   f"no building_room factor for building '{building_name}' (room type {parsed['room_type']}) "
                   f"in {ctx.year}: its rooms get no energy emission until one is imported")
    return parsed


def _surface(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def room_leaves(entry: BuildingRoomEntry, surface: Decimal, factor: BuildingRoomFactor) -> list[Leaf]:
    """The five energy components of one room."""
    leaves = taxonomy.room_leaves(entry.room_type or None)
    base = surface * entry.room_allocation_ratio * factor.ef_kg_co2eq_per_kwh
    heating = base * factor.heating_kwh_per_square_meter * factor.conversion_factor
    kg = {
        "lighting": base * factor.lighting_kwh_per_square_meter,
        "cooling": base * factor.cooling_kwh_per_square_meter,
        "ventilation": base * factor.ventilation_kwh_per_square_meter,
        "heating_elec": heating if factor.energy_type == "electric" else Decimal(0),
        "heating_thermal": heating if factor.energy_type == "thermal" else Decimal(0),
    }
    values = factor.values_used()
    return [Leaf(emission_type=leaves[component], kg_co2eq=kg[component], factor_id=factor.pk, factor_values=values)
            for component in taxonomy.ROOM_COMPONENTS]


def compute_rooms(entries: Sequence[BuildingRoomEntry], ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = ctx.memo("building_room_factors", lambda: room_factor_index(ctx.year))
    embodied = ctx.memo("embodied_factors", lambda: embodied_factor_index(ctx.year))
    room_ids = {e.room_id for e in entries if e.room_id is not None}
    surfaces = dict(BuildingRoom.objects.filter(pk__in=room_ids).values_list("pk", "room_surface_square_meter")
                    ) if room_ids else {}  # one query per chunk
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        surface = _surface(surfaces.get(entry.room_id))
        if surface is None:  # unknown room or unknown surface: no emission at all
            result[entry.pk] = []
            continue
        factor = room_factor(factors, entry.building_name, entry.room_type)
        leaves = room_leaves(entry, surface, factor) if factor else []
        leaves += [Leaf(emission_type=taxonomy.EMBODIED_ENERGY_LEAF, kg_co2eq=surface * f.ef_kgco2eq_per_m2,
                        factor_id=f.pk, factor_values=f.values_used(), kind=EntryKind.building_embodied_energy)
                   for f in embodied_factors(embodied, entry.building_name)]
        result[entry.pk] = leaves
    return result


def room_set_leaves(entry: BuildingRoomEntry, ctx: ComputeContext) -> list[SetLeaf]:
    """`compute_rooms` for one (building, room type): the five components (amount = surface × allocation
    ratio, k.p0 = 1) and the embodied-energy rows (amount = the whole surface, k.p0 = 0)."""
    factors = ctx.memo("building_room_factors", lambda: room_factor_index(ctx.year))
    embodied = ctx.memo("embodied_factors", lambda: embodied_factor_index(ctx.year))
    factor = room_factor(factors, entry.building_name, entry.room_type)
    leaves = []
    if factor is not None:
        types, values = taxonomy.room_leaves(entry.room_type or None), factor.values_used()
        heating = factor.ef_kg_co2eq_per_kwh * factor.heating_kwh_per_square_meter * factor.conversion_factor
        multipliers = {
            "lighting": factor.ef_kg_co2eq_per_kwh * factor.lighting_kwh_per_square_meter,
            "cooling": factor.ef_kg_co2eq_per_kwh * factor.cooling_kwh_per_square_meter,
            "ventilation": factor.ef_kg_co2eq_per_kwh * factor.ventilation_kwh_per_square_meter,
            "heating_elec": heating if factor.energy_type == "electric" else Decimal(0),
            "heating_thermal": heating if factor.energy_type == "thermal" else Decimal(0),
        }
        leaves = [SetLeaf(emission_type=types[component], multiplier=multipliers[component], params=(Decimal(1),),
                          factor_id=factor.pk, factor_values=values) for component in taxonomy.ROOM_COMPONENTS]
    return leaves + [SetLeaf(emission_type=taxonomy.EMBODIED_ENERGY_LEAF, multiplier=f.ef_kgco2eq_per_m2,
                             params=(Decimal(0),), factor_id=f.pk, factor_values=f.values_used(),
                             kind=EntryKind.building_embodied_energy.value)
                     for f in embodied_factors(embodied, entry.building_name)]


# The room's surface as `_surface` reads it (the float's shortest text, as Python's str), no room = no emission.
_ROOM_AMOUNT = ("r.room_surface_square_meter::text::numeric "
                "* CASE WHEN k.p0 = 1 THEN e.room_allocation_ratio ELSE 1 END")


ROOM_SPEC = EntryKindSpec(
    name="building_room",
    emission_roots=("buildings__rooms", "buildings__construction_and_renovation"),
    # Both kinds, so replacing or deleting rooms also deletes the embodied-energy rows they yielded.
    kinds=(EntryKind.building_room, EntryKind.building_embodied_energy),
    model=BuildingRoomEntry,
    columns=(ColumnSpec("building_location"), ColumnSpec("building_name", required=True),
             ColumnSpec("room_name", required=True), ColumnSpec("room_type", required=True),
             ColumnSpec("room_allocation_ratio"), ColumnSpec("note")),
    parse_row=parse_room_row,
    compute=compute_rooms,
    override_leaf=None,  # five (+ embodied) leaves per entry: a kg_co2eq override is refused (decision 14)
    factor_kinds=("building_room", "embodied_energy"),
    required_reference=("building rooms",),
    label="Building rooms",
    reference_models=("factors.BuildingRoom",),
    relink=lambda: relink_rooms(),
    set_based=SetBased(keys=("building_name", "room_type"), leaves=room_set_leaves, amount=_ROOM_AMOUNT,
                       joins=f"LEFT JOIN {BuildingRoom._meta.db_table} AS r ON r.id = e.room_id"),
)


def relink_rooms() -> None:
    """After the rooms table is re-imported: point every room entry at its room again (or at none)."""
    ctx = ComputeContext(year=0)
    changed = []
    for entry in BuildingRoomEntry.objects.only("pk", "room_name", "room_id").iterator(chunk_size=5000):
        ref = resolve_room(entry.room_name, ctx)
        room_id = ref.pk if ref else None
        if entry.room_id != room_id:
            entry.room_id = room_id
            changed.append(entry)
    BuildingRoomEntry.objects.bulk_update(changed, ["room"], batch_size=5000)


# -------------------------------------------------------------------------------- energy combustion
def combustion_factor_index(year: int) -> dict[str, EnergyCombustionFactor]:
    return {f.name: f for f in EnergyCombustionFactor.objects.filter(year=year)}


def parse_combustion_row(values: dict[str, str], ctx: RowContext) -> dict:
    name = _text(values, "name", 128)
    parsed = {"name": name, "unit": _text(values, "unit", 32), "quantity": parse_quantity(values.get("quantity"))}
    factor = ctx.memo("combustion_factors", lambda: combustion_factor_index(ctx.year)).get(fuel_key(name))
    if factor is None:
        _warn_once(ctx, ("combustion_factor", fuel_key(name)), "name",
                   f"no energy_combustion factor for '{name}' in {ctx.year} (kept, no emission)")
    elif not unit_matches(parsed["unit"], factor.unit):
        ctx.warn("unit", f"unit '{parsed['unit']}' differs from the factor's unit '{factor.unit}' "
                         f"(kept, no emission)")
    return parsed


def compute_combustion(entries: Sequence[EnergyCombustion], ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = ctx.memo("combustion_factors", lambda: combustion_factor_index(ctx.year))
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        factor = factors.get(fuel_key(entry.name))
        if factor is None or not unit_matches(entry.unit, factor.unit):
            result[entry.pk] = []
            continue
        result[entry.pk] = [Leaf(emission_type=taxonomy.combustion_leaf(entry.name),
                                 kg_co2eq=entry.quantity * factor.ef_kg_co2eq_per_unit,
                                 factor_id=factor.pk, factor_values=factor.values_used())]
    return result


def combustion_set_leaves(entry: EnergyCombustion, ctx: ComputeContext) -> list[SetLeaf]:
    """Key (name, unit): quantity × the fuel's factor, when the units agree."""
    factor = ctx.memo("combustion_factors", lambda: combustion_factor_index(ctx.year)).get(fuel_key(entry.name))
    if factor is None or not unit_matches(entry.unit, factor.unit):
        return []
    return [SetLeaf(emission_type=taxonomy.combustion_leaf(entry.name), multiplier=factor.ef_kg_co2eq_per_unit,
                    factor_id=factor.pk, factor_values=factor.values_used())]


COMBUSTION_SPEC = EntryKindSpec(
    name="energy_combustion",
    emission_roots=("buildings__combustion",),
    kinds=(EntryKind.energy_combustion,),
    model=EnergyCombustion,
    columns=(ColumnSpec("name", required=True), ColumnSpec("unit"), ColumnSpec("quantity", required=True),
             ColumnSpec("note")),
    parse_row=parse_combustion_row,
    compute=compute_combustion,
    override_leaf=lambda entry: taxonomy.combustion_leaf(entry.name),
    factor_kinds=("energy_combustion",),
    measured=("quantity",),
    label="Energy combustion",
    set_based=SetBased(keys=("name", "unit"), leaves=combustion_set_leaves, amount="e.quantity"),
)

SPECS = [ROOM_SPEC, COMBUSTION_SPEC]
