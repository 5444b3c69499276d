"""CSV import kinds for reference data: `locations`, `building_rooms`, `exchange_rates` (csv-formats.md).

The three kinds share one shape: parse every row into (key, values), reject duplicate keys, then
synchronise the table in one transaction. Rows whose key already exists are updated in place (so ids
stay stable for whatever will point at them), new keys are created, and for the replacing kinds the
keys missing from the file are deleted — every change with its history row (creations and updates
written in bulk).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, router
from django.db.models.deletion import Collector

from factors.models import BuildingRoom, ExchangeRate, Location, TransportMode, location_natural_key
from factors.signals import reference_data_changed
from infra.csvio import (
    CellError,
    ColumnSpec,
    CsvRow,
    RowError,
    parse_choice,
    parse_decimal,
    parse_int,
    parse_text,
    read_csv,
)
from infra.history import bulk_create_with_history, bulk_update_with_history
from infra.importing import BaseImporter, ImportOutcome, ImportRequest, collect_rows, register

__all__ = ["BUILDING_ROOMS", "EXCHANGE_RATES", "LOCATIONS", "BuildingRoomsImporter", "ExchangeRatesImporter",
           "LocationsImporter", "ParsedRow"]

BATCH_SIZE = 2000
_TWO_LETTERS = re.compile(r"[A-Z]{2}")  # ISO 3166 country, continent
_THREE_LETTERS = re.compile(r"[A-Z]{3}")  # IATA, ISO 4217


@dataclass
class ParsedRow:
    """A valid row: `key` identifies the record (and is reported on `key_column` when duplicated)."""

    number: int
    key: Hashable
    key_column: str
    values: dict


@dataclass(frozen=True)
class PreparedRows:
    """A source of rows already split (a loader command's), with the history reason to record."""

    rows: Iterable[CsvRow]
    reason: str


class _ReferenceImporter(BaseImporter):
    """Validate every row, then synchronise `model` on the rows' keys in one transaction."""

    name: str
    model: type[models.Model]
    columns: list[ColumnSpec]
    reason: str
    delete_missing: bool  # True: the file replaces the table (or its part, see `existing`)
    needs_year = False
    accepts_unit = False

    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> list[ParsedRow]:
        source = request.source
        rows = source.rows if isinstance(source, PreparedRows) else read_csv(source, columns=self.columns)
        parsed = collect_rows(rows, outcome, self.parse, self.columns)
        self._check_duplicates(parsed, outcome)
        bad = {e.row for e in outcome.errors}
        return [r for r in parsed if r.number not in bad]

    def write(self, request: ImportRequest, plan: list[ParsedRow], outcome: ImportOutcome) -> None:
        if plan:
            reason = request.source.reason if isinstance(request.source, PreparedRows) else self.reason
            self._write(plan, outcome, request.actor, reason)

    def after_write(self, request: ImportRequest, plan, outcome: ImportOutcome) -> None:
        # Entries that point at this reference data are re-linked and recomputed (modules listen).
        if outcome.created or outcome.updated or outcome.deleted:
            reference_data_changed.send(sender=self.model)

    # -- per kind -------------------------------------------------------------------------------
    def parse(self, row: CsvRow) -> ParsedRow:
        raise NotImplementedError

    def describe(self, key) -> str:
        raise NotImplementedError

    def existing(self, rows: list[ParsedRow]) -> models.QuerySet:
        """The records the file is compared with (locked for the write)."""
        return self.model.objects.all()

    def key_of(self, obj) -> Hashable:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    def _check_duplicates(self, rows: list[ParsedRow], outcome: ImportOutcome) -> None:
        seen: dict[Hashable, int] = {}
        for row in rows:
            if row.key in seen:
                outcome.errors.append(RowError(row.number, row.key_column,
                                               f"duplicate {self.describe(row.key)} (also on row {seen[row.key]})"))
            else:
                seen[row.key] = row.number

    def _write(self, rows: list[ParsedRow], outcome: ImportOutcome, actor, reason: str) -> None:
        current = {self.key_of(obj): obj for obj in self.existing(rows).select_for_update()}
        fields = list(rows[0].values)
        new, changed = [], []
        for row in rows:
            obj = current.pop(row.key, None)
            if obj is None:
                new.append(self.model(**row.values))
            elif any(getattr(obj, f) != v for f, v in row.values.items()):
                for f, v in row.values.items():
                    setattr(obj, f, v)
                changed.append(obj)
            else:
                outcome.unchanged += 1
        if self.delete_missing and current:
            _delete_with_history(self.model, list(current.values()), actor, reason)
            outcome.deleted = len(current)
        if new:
            bulk_create_with_history(new, self.model, batch_size=BATCH_SIZE, default_user=actor,
                                     default_change_reason=reason)
        if changed:
            bulk_update_with_history(changed, self.model, fields, batch_size=BATCH_SIZE, default_user=actor,
                                     default_change_reason=reason)
        outcome.created, outcome.updated = len(new), len(changed)


LOCATION_COLUMNS = [
    ColumnSpec("transport_mode", required=True),
    ColumnSpec("name", required=True),
    ColumnSpec("iata_code"),
    ColumnSpec("country_code", required=True),
    ColumnSpec("latitude", required=True),
    ColumnSpec("longitude", required=True),
    ColumnSpec("municipality"),
    ColumnSpec("airport_size"),
    ColumnSpec("continent"),
    ColumnSpec("keywords"),
]


class LocationsImporter(_ReferenceImporter):
    """Replaces the locations of the transport modes present in the file; other modes are untouched."""

    name = "locations"
    model = Location
    columns = LOCATION_COLUMNS
    reason = "locations CSV import"
    delete_missing = True

    def parse(self, row: CsvRow) -> ParsedRow:
        v = row.values
        mode = parse_choice(v["transport_mode"], TransportMode.values, column="transport_mode")
        country = v["country_code"].upper()
        if not _TWO_LETTERS.fullmatch(country):
            raise CellError(f"'{v['country_code']}' is not a two-letter ISO country code", column="country_code")
        iata = v["iata_code"].upper()
        if iata and not _THREE_LETTERS.fullmatch(iata):
            raise CellError(f"'{v['iata_code']}' is not a three-letter IATA code", column="iata_code")
        continent = v["continent"].upper()
        if continent and not _TWO_LETTERS.fullmatch(continent):
            raise CellError(f"'{v['continent']}' is not a two-letter continent code", column="continent")
        values = {
            "transport_mode": mode,
            "name": _text(v, "name", 255),
            "iata_code": iata,
            "country_code": country,
            "latitude": float(parse_decimal(v["latitude"], column="latitude", min=-90, max=90)),
            "longitude": float(parse_decimal(v["longitude"], column="longitude", min=-180, max=180)),
            "municipality": _text(v, "municipality", 255),
            "airport_size": _text(v, "airport_size", 32),
            "continent": continent,
            "keywords": v["keywords"],
        }
        values["natural_key"] = location_natural_key(**{k: values[k] for k in (
            "transport_mode", "name", "country_code", "latitude", "longitude", "iata_code")})
        key_column = "iata_code" if values["natural_key"].startswith("plane:") else "name"
        return ParsedRow(row.number, values["natural_key"], key_column, values)

    def describe(self, key) -> str:
        return f"location {key}"

    def existing(self, rows):
        return Location.objects.filter(transport_mode__in={r.values["transport_mode"] for r in rows})

    def key_of(self, obj):
        return obj.natural_key


class BuildingRoomsImporter(_ReferenceImporter):
    """Replaces the whole table of rooms; a surface of `-` (or empty) means unknown."""

    name = "building_rooms"
    model = BuildingRoom
    columns = [
        ColumnSpec("building_location", required=True),
        ColumnSpec("building_name", required=True),
        ColumnSpec("room_name", required=True),
        ColumnSpec("room_type"),
        ColumnSpec("room_surface_square_meter"),
    ]
    reason = "building rooms CSV import"
    delete_missing = True

    def parse(self, row: CsvRow) -> ParsedRow:
        v = row.values
        surface_text = v["room_surface_square_meter"]
        surface = None if surface_text == "-" else parse_decimal(surface_text, column="room_surface_square_meter",
                                                         min=0)
        values = {
            "building_location": _text(v, "building_location", 64),
            "building_name": _text(v, "building_name", 64),
            "room_name": _text(v, "room_name", 128),
            "room_type": _text(v, "room_type", 64) or None,
            "room_surface_square_meter": None if surface is None else float(surface),
        }
        return ParsedRow(row.number, values["room_name"], "room_name", values)

    def describe(self, key) -> str:
        return f"room '{key}'"

    def key_of(self, obj):
        return obj.room_name


class ExchangeRatesImporter(_ReferenceImporter):
    """Creates or updates the rate of each (year, currency) in the file; never deletes."""

    name = "exchange_rates"
    model = ExchangeRate
    columns = [
        ColumnSpec("year", required=True),
        ColumnSpec("currency", required=True),
        ColumnSpec("units_per_eur", required=True),
    ]
    reason = "exchange rates CSV import"
    delete_missing = False

    def parse(self, row: CsvRow) -> ParsedRow:
        v = row.values
        year = parse_int(v["year"], column="year", min=1999, max=2100)
        currency = v["currency"].upper()
        if not _THREE_LETTERS.fullmatch(currency):
            raise CellError(f"'{v['currency']}' is not a three-letter ISO 4217 currency code", column="currency")
        rate = parse_decimal(v["units_per_eur"], column="units_per_eur")
        if rate <= 0:
            raise CellError(f"must be > 0 (got {v['units_per_eur']})", column="units_per_eur")
        if rate >= 10**10:
            raise CellError(f"must be < 10000000000 (got {v['units_per_eur']})", column="units_per_eur")
        if currency == "EUR" and rate != 1:
            raise CellError(f"EUR is the base currency: its rate is 1 (got {v['units_per_eur']})",
                            column="units_per_eur")
        values = {"year": year, "currency": currency, "units_per_eur": rate.quantize(Decimal("1e-10"))}
        return ParsedRow(row.number, (year, currency), "currency", values)

    def describe(self, key) -> str:
        return f"rate for {key[1]} in {key[0]}"

    def existing(self, rows):
        return ExchangeRate.objects.filter(year__in={r.values["year"] for r in rows})

    def key_of(self, obj):
        return obj.year, obj.currency



def _text(values: dict[str, str], column: str, max_length: int) -> str:
    return parse_text(values[column], max_length=max_length, column=column)


def _delete_with_history(model, objs: list, actor, reason: str) -> None:
    """Delete `objs` through Django's collector, so cascades and signals apply; simple-history's delete
    signal reads the acting user and the reason from the instances (one history insert per row)."""
    for obj in objs:
        obj._history_user, obj._change_reason = actor, reason
    collector = Collector(using=router.db_for_write(model))
    collector.collect(objs)
    collector.delete()


LOCATIONS = register(LocationsImporter())
BUILDING_ROOMS = register(BuildingRoomsImporter())
EXCHANGE_RATES = register(ExchangeRatesImporter())
