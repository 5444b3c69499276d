"""Load the demo organisation, users and the open 2025 campaign with its data. Safe to run again.

Steps, one output line each: units, users, demo passwords, year 2025 created and opened; reference data
(airports and stations, building rooms, exchange rates); every factor file of fixtures/demo/2025/; every
per-year entry file (a per-year file replaces its previous rows, so a second run gives the same data);
then the modules listed in validated.csv are validated.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from carbon.services import year_create, year_open
from carbon.taxonomy import Module
from factors.base import FACTOR_KINDS
from modules.registry import load_order
from units.models import Provider, User
from units.operators import command_origin

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
REFERENCE_DIR = Path(settings.BASE_DIR) / "fixtures" / "reference"
DEMO_PASSWORD = "demo"
DEMO_YEAR = 2025
CAMPAIGN_DIR = DEMO_DIR / str(DEMO_YEAR)

# Every registered factor kind (factors_<kind>.csv) is imported before any entry, so that every entry is
# computed with its factors; then every entry kind (<kind>.csv, per-year files) in the registry's load order
# (each kind after the kinds it depends on: facility sums read the facility units' results).
VALIDATED_FILE = "validated.csv"
# The demo's story, so that its audit trail has answers: demo-admin corrects a plane factor (short-haul first
# class is booked like business) before any entry is computed, and imports the train trips.
STORY_IMPORTER = "demo-admin"
STORY_IMPORTS = {"train"}
STORY_FACTOR = {"category": "short_to_medium_haul", "cabin_class": "first"}
STORY_VALUE = Decimal("0.4471")
STORY_REASON = "short-haul first class is booked like business: same factor"


class Command(BaseCommand):
    help = "Load the demo data (fixtures/demo/): organisation, users, the open 2025 campaign and its data."

    def handle(self, *args, **options):
        # The demo's own writes (passwords, the year, validations) name the operator like any command's; the
        # imports it runs name themselves ("command line: import_csv").
        with command_origin("load_demo"):
            self._load(options)

    def _load(self, options):
        self.verbose = options.get("verbosity", 1) > 1
        self._command("units", "import_csv", "units", DEMO_DIR / "units.csv")
        self._command("users", "import_csv", "users", DEMO_DIR / "users.csv")
        changed = 0
        for user in User.objects.filter(provider=Provider.DEMO):
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                changed += 1
        self.stdout.write(f"demo passwords: {changed} set")
        created = year_create(year=DEMO_YEAR)
        self.stdout.write(f"year {DEMO_YEAR}: {created.reports_created} reports created")

        self._command("locations", "load_locations")
        self._command("building rooms", "import_csv", "building_rooms", REFERENCE_DIR / "building_rooms.csv")
        self._command("exchange rates", "import_csv", "exchange_rates", REFERENCE_DIR / "exchange_rates.csv")
        for kind in FACTOR_KINDS:  # the factor-kind registry
            self._command(f"factors:{kind}", "import_csv", f"factors:{kind}", self._file(f"factors_{kind}.csv"),
                          "--year", str(DEMO_YEAR))
        self._story()
        # Opened once its factors and reference data are in: an incomplete year cannot be opened.
        year_open(year=DEMO_YEAR)
        self.stdout.write(f"year {DEMO_YEAR}: open")
        for kind in (spec.name for spec in load_order()):
            if not (CAMPAIGN_DIR / f"{kind}.csv").is_file():  # a kind installed after the demo was written
                self.stdout.write(f"{kind}: no demo data")
                continue
            self._command(kind, "import_csv", kind, self._file(f"{kind}.csv"), "--year", str(DEMO_YEAR),
                          *(["--actor", STORY_IMPORTER] if kind in STORY_IMPORTS else []))
        self._validate()
        self.stdout.write(self.style.SUCCESS(f"demo loaded: year {DEMO_YEAR} open"))

    @staticmethod
    def _file(name: str) -> Path:
        path = CAMPAIGN_DIR / name
        if not path.is_file():
            raise CommandError(f"demo file missing: {path}")
        return path

    def _command(self, step: str, name: str, *args) -> None:
        """Run a command quietly and print its summary line as this step's line (-v 2: its whole output)."""
        out = io.StringIO()
        try:
            call_command(name, *[str(a) for a in args], stdout=out)
        except CommandError:
            self.stdout.write(out.getvalue())
            raise CommandError(f"demo step '{step}' failed (see above)") from None
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        if self.verbose:  # -v 2: the command's own output, warnings included
            self.stdout.write("\n".join(lines))
            return
        summary = [line for line in lines if not line.startswith(("warning:", "error:"))]
        self.stdout.write(" | ".join(summary) or f"{step}: done")  # summaries name their kind

    def _story(self) -> None:
        from factors.kinds.travel import PlaneFactor

        factor = PlaneFactor.objects.get(year=DEMO_YEAR, **STORY_FACTOR)
        if factor.ef_kg_co2eq_per_km != STORY_VALUE:  # a second run finds it corrected
            factor.ef_kg_co2eq_per_km = STORY_VALUE
            factor._history_user = User.objects.get(institutional_id=STORY_IMPORTER)
            factor._change_reason = STORY_REASON
            factor.save()
        self.stdout.write(f"story: {STORY_IMPORTER} corrected the plane factor {factor}")

    def _validate(self) -> None:
        from modules.services import module_validate  # `modules` comes after `units` in the app order

        with open(self._file(VALIDATED_FILE), encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.lstrip().startswith("#")))
        for row in rows:
            cf, module = row["cf"].strip(), Module.from_name(row["module"])
            by = (row.get("by") or "").strip()
            module_validate(unit_cf=cf, year=DEMO_YEAR, module=module,
                            actor=User.objects.get(institutional_id=by) if by else None)
            self.stdout.write(f"validated: {cf} {DEMO_YEAR} {module.name}")
