"""Plane and train trips: validation, place resolution and the emission formulas (reference-domain §4.2–4.3).

Plane: kg = one-trip km × trips × ef × RFI of the (haul band, cabin class) factor; the leaf's quantity is
the distance (km × trips), never multiplied by the RFI (product.md §5 decision 4).
Train: kg = one-trip km × trips × ef of the trip's country factor, else the `RoW` factor.

Places are resolved once per file: `parse_row` validates a row and leaves it pending in the row
context; `validate_rows`, which sees every valid row of the file, resolves all the file's airports
(or stations) in one query and fills in the location FKs and the distance of the very dicts the
importer writes. An unknown place keeps the row with a warning and no emission; a station name
that several stations of its country share rejects the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.geo import REST_OF_WORLD, plane_trip_km, train_country, train_trip_km
from factors.kinds.travel import (
    PLANE_CABIN_CLASSES,
    TRAIN_CABIN_CLASSES,
    PlaneFactorIndex,
    TrainFactor,
)
from factors.models import Location, TransportMode
from factors.selectors import match_stations
from infra.csvio import CellError, ColumnSpec, RowError, RowWarning, parse_choice, parse_date, parse_int, parse_text
from modules.base import Entry, Leaf
from modules.registry import KINDS, ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf
from modules.travel.models import PlaneTrip, TrainTrip

__all__ = ["PLANE", "SPECS", "TRAIN", "airports_by_code", "cabin_class", "country_code", "departure_date",
           "iata_code", "number_of_trips", "plane_compute", "plane_parse_row", "plane_resolve", "plane_validate_rows",
           "station_name", "stations_by_name", "train_compute", "train_parse_row", "train_resolve",
           "train_validate_rows", "traveller"]

ENDS = ("origin", "destination")
_PLANE_PENDING = "plane_pending_rows"
_TRAIN_PENDING = "train_pending_rows"


# ------------------------------------------------------------------------------------- cell validators
# One function per field, reused by the CSV parser and (later) the API serializers.

def iata_code(text: str, column: str = "origin_iata") -> str:
    """'gva' → 'GVA'; anything but three letters is an error (the code is kept as written, upper-cased)."""
    code = (text or "").strip().upper()
    if not code:
        raise CellError("a value is required", column=column)
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise CellError(f"'{text.strip()}' is not a three-letter IATA code", column=column)
    return code


def country_code(text: str, column: str = "origin_country_code") -> str:
    """'de' → 'DE'; required (a station name is only unique within its country)."""
    code = (text or "").strip().upper()
    if not code:
        raise CellError("a value is required", column=column)
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise CellError(f"'{text.strip()}' is not a two-letter ISO country code", column=column)
    return code


def station_name(text: str, column: str = "origin_name") -> str:
    return parse_text(text, max_length=255, allow_empty=False, column=column)


def traveller(text: str, column: str = "user_institutional_id") -> str:
    return parse_text(text, max_length=64, allow_empty=False, column=column)


def number_of_trips(text: str, column: str = "number_of_trips") -> int:
    """Empty means one trip."""
    trips = parse_int(text, column=column, min=1)
    return 1 if trips is None else trips


def cabin_class(text: str, choices: Sequence[str], column: str = "cabin_class") -> str:
    return parse_choice(text, choices, allow_empty=False, column=column)


def departure_date(text: str, year: int | None = None, warn=None, column: str = "departure_date") -> date | None:
    """Optional; a date outside the campaign year is accepted with a warning (`warn(column, reason)`)."""
    day = parse_date(text, column=column)
    if day is not None and year is not None and day.year != year and warn is not None:
        warn(column, f"departure date {day.isoformat()} is not in {year}")
    return day


def _common(values: dict[str, str], ctx: RowContext, cabins: Sequence[str]) -> dict:
    return {
        "user_institutional_id": traveller(values["user_institutional_id"]),
        "departure_date": departure_date(values.get("departure_date", ""), ctx.year, ctx.warn),
        "number_of_trips": number_of_trips(values.get("number_of_trips", "")),
        "cabin_class": cabin_class(values["cabin_class"], cabins),
        "origin": None, "destination": None, "distance_km": None,  # filled by *_resolve
    }


# ------------------------------------------------------------------------------------------ places
def airports_by_code(codes: Iterable[str]) -> dict[str, Location]:
    """IATA code → airport, in one query."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    airports = Location.objects.filter(transport_mode=TransportMode.PLANE, iata_code__in=codes)
    return {loc.iata_code: loc for loc in airports.only("id", "iata_code", "country_code", "latitude", "longitude")}


def stations_by_name(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Location]]:
    """(country code, station name) → the train stations of that country that name designates, in one
    query, keyed by (country code, trimmed lower-cased name). Matching (factors.selectors.match_stations):
    the local name ignoring case and accents, else an English or other-language name ("Geneva" →
    Genève). Several stations for one key = an ambiguous name."""
    found = match_stations(pairs)
    return {(cc, name.lower()): stations for (cc, name), stations in found.items()}


def _distance(values: dict, trip_km) -> None:
    origin, destination = values["origin"], values["destination"]
    values["distance_km"] = trip_km(origin, destination) if origin and destination else None


def plane_resolve(rows: list[tuple[int, dict]], warn, known: dict | None = None) -> None:
    """Set the airport FKs and the one-trip distance of plane rows (number, field values), in place.
    `known` (code → airport or None) carries what earlier chunks of the same file looked up: a file names a few
    hundred airports, so after its first chunks no query is needed (a query waits for the import's writes)."""
    airports = {} if known is None else known
    missing = {v[f"{end}_iata"] for _, v in rows for end in ENDS} - airports.keys()
    if missing:
        found = airports_by_code(missing)
        airports.update({code: found.get(code) for code in missing})
    for number, values in rows:
        for end in ENDS:
            code = values[f"{end}_iata"]
            values[end] = airports.get(code)
            if values[end] is None:
                warn(number, f"{end}_iata", f"unknown airport '{code}'")
        _distance(values, plane_trip_km)


def train_resolve(rows: list[tuple[int, dict]], warn) -> list[RowError]:
    """Set the station FKs and the one-trip distance of train rows, in place; ambiguous names → errors."""
    stations = stations_by_name((v[f"{end}_country_code"], v[f"{end}_name"]) for _, v in rows for end in ENDS)
    errors = []
    for number, values in rows:
        for end in ENDS:
            name, cc = values[f"{end}_name"], values[f"{end}_country_code"]
            matches = stations.get((cc, name.strip().lower()), [])
            if len(matches) > 1:
                errors.append(RowError(number, f"{end}_name",
                                       f"ambiguous station '{name}': {len(matches)} matches in {cc}"))
            elif not matches:
                warn(number, f"{end}_name", f"unknown station '{name}' in {cc}")
            values[end] = matches[0] if len(matches) == 1 else None
        _distance(values, train_trip_km)
    return errors


# -------------------------------------------------------------------------------------- travellers
def _traveller_warnings(rows: list[tuple[int, dict]], ctx: RowContext) -> list[RowWarning]:
    """Decision 18: a traveller missing from the unit's headcount that year is accepted with a warning.

    Checked against the `member` kind when it is registered; a unit with no headcount at all gets one
    warning instead of one per row (its headcount is probably not imported yet).
    """
    member = KINDS.get("member")
    if member is None or not rows:
        return []
    try:
        member.model._meta.get_field("user_institutional_id")
    except FieldDoesNotExist:
        return []
    units = {values["unit"].pk: values["unit"] for _, values in rows}
    # unit id → its members' ids, loaded once per unit for the whole file (the warning about a unit without
    # headcount is given once, with the chunk that first names it)
    headcount = ctx.memo("traveller_headcount", dict)
    new_units = [unit_id for unit_id in units if unit_id not in headcount]
    if new_units:
        for unit_id in new_units:
            headcount[unit_id] = set()
        for unit_id, member_id in (member.model.objects.filter(module_report__report__year_id=ctx.year,
                                                                module_report__report__unit_id__in=new_units)
                                   .values_list("module_report__report__unit_id", "user_institutional_id")
                                   .distinct()):
            headcount[unit_id].add(member_id)
    warnings = [RowWarning(None, "user_institutional_id",
                           f"unit {units[unit_id].institutional_id} has no headcount members in {ctx.year}: "
                           f"its travellers cannot be checked") for unit_id in new_units if not headcount[unit_id]]
    for number, values in rows:
        unit = values["unit"]
        if headcount[unit.pk] and values["user_institutional_id"] not in headcount[unit.pk]:
            warnings.append(RowWarning(number, "user_institutional_id",
                                       f"traveller '{values['user_institutional_id']}' is not in the headcount "
                                       f"of unit {unit.institutional_id} in {ctx.year}"))
    return warnings


def _pending(ctx: RowContext, key: str, rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """The importer's own value dicts of the valid rows (`rows` carries copies with the unit added)."""
    pending = ctx.memo(key, dict)
    # Popped: a large file is validated chunk by chunk, and resolved rows must not pile up in memory.
    return [(number, pending.pop(number)) for number, _ in rows if number in pending]


def _warn_into(ctx: RowContext):
    return lambda number, column, reason: ctx.warnings.append(RowWarning(number, column, reason))


# --------------------------------------------------------------------------------------------- plane
def plane_parse_row(values: dict[str, str], ctx: RowContext) -> dict:
    parsed = {"origin_iata": iata_code(values["origin_iata"], "origin_iata"),
              "destination_iata": iata_code(values["destination_iata"], "destination_iata"),
              **_common(values, ctx, PLANE_CABIN_CLASSES)}
    ctx.memo(_PLANE_PENDING, dict)[ctx.row] = parsed
    return parsed


def plane_validate_rows(rows: list[tuple[int, dict]], ctx: RowContext) -> list[RowError]:
    plane_resolve(_pending(ctx, _PLANE_PENDING, rows), _warn_into(ctx), ctx.memo("airports_by_code", dict))
    ctx.warnings.extend(_traveller_warnings(rows, ctx))
    return []


def _places(entries: Sequence[Entry], model, ctx: ComputeContext) -> dict[int, tuple[float, float]]:
    """Location id → (lat, lon) for the entries' ends: from the FK objects already loaded (an import),
    else one query per chunk; cached for the whole computation."""
    known = ctx.memo(f"{model._meta.model_name}_places", dict)
    fields = [model._meta.get_field(end) for end in ENDS]
    missing = set()
    for entry in entries:
        for field in fields:
            if field.is_cached(entry) and (loc := field.get_cached_value(entry)) is not None and loc.pk:
                known[loc.pk] = (loc.latitude, loc.longitude)
            pk = getattr(entry, field.attname)
            if pk is not None and pk not in known:
                missing.add(pk)
    if missing:
        known.update({pk: (lat, lon) for pk, lat, lon in
                      Location.objects.filter(pk__in=missing).values_list("pk", "latitude", "longitude")})
    return known


def _ends(entry: Entry, places: dict) -> tuple | None:
    origin, destination = places.get(entry.origin_id), places.get(entry.destination_id)
    return (origin, destination) if origin and destination else None


def plane_compute(entries: Sequence[PlaneTrip], ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = ctx.memo("plane_factors", lambda: PlaneFactorIndex.for_year(ctx.year))
    places = _places(entries, PlaneTrip, ctx)
    routes = ctx.memo("plane_routes", dict)  # (origin, destination) → one trip's km: a file repeats its routes
    result = {}
    for entry in entries:
        route = (entry.origin_id, entry.destination_id)
        if route in routes:
            trip_km = routes[route]
        else:
            ends = _ends(entry, places)
            trip_km = routes[route] = None if ends is None else plane_trip_km(*ends)
        factor = None if trip_km is None else factors.factor(trip_km, entry.cabin_class)
        if factor is None:  # unknown airport, or no factor for the band and cabin class
            result[entry.pk] = []
            continue
        distance = Decimal(trip_km) * entry.number_of_trips
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.plane_leaf(entry.cabin_class),
            kg_co2eq=distance * factor.ef_kg_co2eq_per_km * factor.rfi_adjustment,
            quantity=distance, quantity_unit="km",
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


# --------------------------------------------------------------------------------------------- train
def train_parse_row(values: dict[str, str], ctx: RowContext) -> dict:
    parsed = {"origin_name": station_name(values["origin_name"], "origin_name"),
              "origin_country_code": country_code(values["origin_country_code"], "origin_country_code"),
              "destination_name": station_name(values["destination_name"], "destination_name"),
              "destination_country_code": country_code(values["destination_country_code"],
                                                       "destination_country_code"),
              **_common(values, ctx, TRAIN_CABIN_CLASSES)}
    ctx.memo(_TRAIN_PENDING, dict)[ctx.row] = parsed
    return parsed


def train_validate_rows(rows: list[tuple[int, dict]], ctx: RowContext) -> list[RowError]:
    errors = train_resolve(_pending(ctx, _TRAIN_PENDING, rows), _warn_into(ctx))
    bad = {e.row for e in errors}
    ctx.warnings.extend(_traveller_warnings([r for r in rows if r[0] not in bad], ctx))
    return errors


def train_factor_index(year: int) -> dict[str, TrainFactor]:
    return {f.country_code: f for f in TrainFactor.objects.filter(year=year)}


def _train_factor(entry: TrainTrip, ctx: ComputeContext) -> TrainFactor | None:
    """The factor of the trip's country, else the `RoW` one."""
    factors = ctx.memo("train_factors", lambda: train_factor_index(ctx.year))
    country = train_country(entry.origin_country_code, entry.destination_country_code)
    return factors.get(country) or factors.get(REST_OF_WORLD)


def train_compute(entries: Sequence[TrainTrip], ctx: ComputeContext) -> dict[int, list[Leaf]]:
    places = _places(entries, TrainTrip, ctx)
    result = {}
    for entry in entries:
        ends = _ends(entry, places)
        factor = _train_factor(entry, ctx)
        if ends is None or factor is None:  # unknown station, or no factor for the country nor RoW
            result[entry.pk] = []
            continue
        distance = Decimal(train_trip_km(*ends)) * entry.number_of_trips
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.train_leaf(entry.cabin_class),
            kg_co2eq=distance * factor.ef_kg_co2eq_per_km,
            quantity=distance, quantity_unit="km",
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


# ----------------------------------------------------------------------------- set-based recalculation
# `plane_compute` and `train_compute` for the trips of one key, the distance being the one-trip km stored on
# the entry (`distance_km`: set from the same places by the import, the API and `relink_trips`). Both ends
# known, else no emission, as `_ends`; a trip with both ends but no stored distance is left to compute.
_TRIP_KM = ("CASE WHEN e.origin_id IS NOT NULL AND e.destination_id IS NOT NULL "
            "THEN e.distance_km::numeric * e.number_of_trips END")
_TRIP_KM_MISSING = "e.origin_id IS NOT NULL AND e.destination_id IS NOT NULL AND e.distance_km IS NULL"


def plane_set_leaves(entry: PlaneTrip, ctx: ComputeContext) -> list[SetLeaf]:
    """Key (distance_km, cabin_class): the factor of the distance's band and the cabin, × RFI."""
    factors = ctx.memo("plane_factors", lambda: PlaneFactorIndex.for_year(ctx.year))
    factor = None if entry.distance_km is None else factors.factor(entry.distance_km, entry.cabin_class)
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.plane_leaf(entry.cabin_class),
        multiplier=factor.ef_kg_co2eq_per_km * factor.rfi_adjustment, quantity_multiplier=Decimal(1),
        quantity_unit="km", factor_id=factor.pk, factor_values=factor.values_used())]


def train_set_leaves(entry: TrainTrip, ctx: ComputeContext) -> list[SetLeaf]:
    """Key (origin and destination countries, cabin_class)."""
    factor = _train_factor(entry, ctx)
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.train_leaf(entry.cabin_class), multiplier=factor.ef_kg_co2eq_per_km,
        quantity_multiplier=Decimal(1), quantity_unit="km", factor_id=factor.pk, factor_values=factor.values_used())]


# ------------------------------------------------------------------------------------------- specs
_TRIP_COLUMNS = (ColumnSpec("user_institutional_id", required=True), ColumnSpec("departure_date"),
                 ColumnSpec("number_of_trips"), ColumnSpec("cabin_class", required=True), ColumnSpec("note"))

PLANE = EntryKindSpec(
    name="plane",
    emission_roots=("professional_travel__plane",),
    kinds=(EntryKind.plane,),
    model=PlaneTrip,
    columns=(ColumnSpec("origin_iata", required=True), ColumnSpec("destination_iata", required=True),
             *_TRIP_COLUMNS),
    parse_row=plane_parse_row,
    compute=plane_compute,
    override_leaf=lambda entry: taxonomy.plane_leaf(entry.cabin_class),
    factor_kinds=("plane",),
    required_reference=("airports",),
    owner_field="user_institutional_id",
    standard_editable=True,
    validate_rows=plane_validate_rows,
    label="Plane trips",
    reference_models=("factors.Location",),
    relink=lambda: relink_trips(PlaneTrip, ("origin_iata", "destination_iata"), plane_resolve),
    set_based=SetBased(keys=("distance_km", "cabin_class"), leaves=plane_set_leaves, amount=_TRIP_KM,
                       python_when=_TRIP_KM_MISSING),
)

TRAIN = EntryKindSpec(
    name="train",
    emission_roots=("professional_travel__train",),
    kinds=(EntryKind.train,),
    model=TrainTrip,
    columns=(ColumnSpec("origin_name", required=True), ColumnSpec("origin_country_code", required=True),
             ColumnSpec("destination_name", required=True), ColumnSpec("destination_country_code", required=True),
             *_TRIP_COLUMNS),
    parse_row=train_parse_row,
    compute=train_compute,
    override_leaf=lambda entry: taxonomy.train_leaf(entry.cabin_class),
    factor_kinds=("train",),
    required_reference=("train stations",),
    owner_field="user_institutional_id",
    standard_editable=True,
    validate_rows=train_validate_rows,
    label="Train trips",
    reference_models=("factors.Location",),
    relink=lambda: relink_trips(TrainTrip, ("origin_name", "origin_country_code", "destination_name",
                                            "destination_country_code"), train_resolve),
    set_based=SetBased(keys=("origin_country_code", "destination_country_code", "cabin_class"),
                       leaves=train_set_leaves, amount=_TRIP_KM, python_when=_TRIP_KM_MISSING),
)


def relink_trips(model, fields: tuple[str, ...], resolve) -> None:
    """After a locations import: point every trip at its places again (by the code or name typed)."""
    trips = list(model.objects.only("pk", "origin_id", "destination_id", "distance_km", *fields))
    rows = [(trip.pk, {f: getattr(trip, f) for f in fields}) for trip in trips]
    resolve(rows, lambda *args: None)  # ambiguity and unknown places were reported at import
    changed = []
    for trip, (_, values) in zip(trips, rows, strict=True):
        new = (getattr(values["origin"], "pk", None), getattr(values["destination"], "pk", None),
               values["distance_km"])
        if new != (trip.origin_id, trip.destination_id, trip.distance_km):
            trip.origin_id, trip.destination_id, trip.distance_km = new
            changed.append(trip)
    model.objects.bulk_update(changed, ["origin", "destination", "distance_km"], batch_size=5000)

SPECS = [PLANE, TRAIN]
