"""`manage.py load_locations [--stations FILE] [--airports-only]`: airports and stations, offline.

Airports come from the installed `airportsdata` package (entries with an IATA code), stations from a
curated CSV in the `locations` format. Each replaces the locations of its transport mode through the
`locations` import kind, so validation, natural keys and history are the same as for `import_csv`.
"""

from __future__ import annotations

import airportsdata
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from factors.importers import LOCATIONS, PreparedRows
from factors.models import TransportMode
from infra.csvio import CsvRow
from infra.importing import ImportOutcome, ImportRequest

DEFAULT_STATIONS = settings.BASE_DIR / "fixtures" / "reference" / "stations.csv"


def airport_rows() -> list[CsvRow]:
    """airportsdata entries as `locations` rows (size and continent are not in that data set)."""
    rows = []
    for number, (iata, airport) in enumerate(sorted(airportsdata.load("IATA").items()), start=1):
        if not iata:
            continue
        keywords = " ".join(part for part in (airport["icao"], airport["subd"]) if part)
        rows.append(CsvRow(number, {
            "transport_mode": TransportMode.PLANE, "name": airport["name"], "iata_code": iata,
            "country_code": airport["country"], "latitude": repr(airport["lat"]), "longitude": repr(airport["lon"]),
            "municipality": airport["city"], "airport_size": "", "continent": "", "keywords": keywords,
        }))
    return rows


class Command(BaseCommand):
    help = "Load airports (airportsdata package) and train stations (curated CSV); replaces each mode."

    def add_arguments(self, parser):
        parser.add_argument("--stations", default=str(DEFAULT_STATIONS), help="Stations CSV (locations format).")
        parser.add_argument("--airports-only", action="store_true", help="Leave the train stations untouched.")

    def handle(self, *args, stations, airports_only, **options):
        reason = f"load_locations (airportsdata {airportsdata.__version__})"
        outcomes = {"airports": LOCATIONS.run(ImportRequest(source=PreparedRows(airport_rows(), reason)))}
        if not airports_only:
            try:
                with open(stations, "rb") as handle:
                    outcomes[stations] = LOCATIONS.run(ImportRequest(source=handle))
            except FileNotFoundError:
                raise CommandError(f"file not found: {stations}") from None
        for source, outcome in outcomes.items():
            self._report(source, outcome)
        if any(outcome.failed for outcome in outcomes.values()):
            raise CommandError("load failed: a source with errors wrote nothing")

    def _report(self, source: str, outcome: ImportOutcome) -> None:
        for error in outcome.errors:
            where = [source]
            if error.row is not None:
                where.append(f"row {error.row}")
            if error.column:
                where.append(f"column {error.column}")
            self.stdout.write(self.style.ERROR(f"error: {', '.join(where)}: {error.reason}"))
        self.stdout.write(f"{source}: {outcome.summary()}")
