"""`manage.py import_csv KIND FILE [--year] [--unit CF] [--category C] [--dry-run] [--skip-invalid]`."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from infra.events import emit
from infra.importing import IMPORTERS, ImportRequest, get_importer
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = "Import a CSV file of one kind (see docs: units, users, locations, factors:<kind>, <entry kind>)."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="Import kind: " + ", ".join(sorted(IMPORTERS)))
        parser.add_argument("file")
        parser.add_argument("--year", type=int)
        parser.add_argument("--unit", dest="unit_cf", help="A unit's module file (appends; no unit column).")
        parser.add_argument("--category", help="The category (submodule) the file is for, when its rows leave it "
                                               "empty: purchase (e.g. services, vehicles) and equipment (scientific, "
                                               "it, other) files, as the reference's per-category templates.")
        parser.add_argument("--dry-run", action="store_true", help="Validate every row, write nothing.")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Write the valid rows and list the skipped ones instead of failing.")
        parser.add_argument("--allow-empty", action="store_true",
                            help="Accept a per-year file without data rows: clears the kind for the year.")
        parser.add_argument("--background", action="store_true", help="Queue the import for a worker.")
        add_actor_argument(parser)

    def handle(self, *args, kind, file, year, unit_cf, dry_run, skip_invalid, background, actor, allow_empty,
               category=None, **options):
        try:
            importer = get_importer(kind)
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        if importer.needs_year and year is None:
            raise CommandError(f"{kind} files are per year: --year is required")
        if unit_cf and not importer.accepts_unit:
            raise CommandError(f"{kind} files do not take --unit")
        categories = getattr(importer, "categories", ())
        if category is not None and category not in categories:
            raise CommandError(f"{kind} files take no --category" if not categories else
                               f"--category must be one of: {', '.join(categories)}")
        with command_origin("import_csv", actor) as origin:
            if background:
                return self._enqueue(kind, file, year, unit_cf, origin.user, skip_invalid, dry_run, allow_empty,
                                     category)
            outcome = self._run(importer, file, year, unit_cf, dry_run, skip_invalid, origin.user, allow_empty,
                                category)
            if not dry_run:  # the outcome of an import, in the audit trail like an upload's
                emit("import_finished", source="command", actor=origin.user, actor_label=origin.actor_label,
                     kind=kind, year=year, file_name=str(file), result="error" if outcome.failed else "success",
                     rows=outcome.rows_read, created=outcome.created, updated=outcome.updated,
                     deleted=outcome.deleted, errors=len(outcome.errors), warnings=len(outcome.warnings))
            if outcome.failed:
                raise CommandError("import failed: nothing was written" if not dry_run else "validation failed")

    def _run(self, importer, file, year, unit_cf, dry_run, skip_invalid, actor_user, allow_empty, category=None):
        started = time.monotonic()
        progress = self._progress_printer() if sys.stderr.isatty() else None
        try:
            with open(file, "rb") as handle:
                outcome = importer.run(ImportRequest(source=handle, year=year, unit_cf=unit_cf, dry_run=dry_run,
                                                     skip_invalid=skip_invalid, actor=actor_user,
                                                     allow_empty=allow_empty, progress=progress,
                                                     category=category))
        except FileNotFoundError:
            raise CommandError(f"file not found: {file}") from None
        if progress:
            sys.stderr.write("\n")
        for warning in outcome.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {self._where(warning)}{warning.reason}"))
        for error in outcome.errors:
            self.stdout.write(self.style.ERROR(f"error: {self._where(error)}{error.reason}"))
        elapsed = time.monotonic() - started
        self.stdout.write(f"{outcome.summary()} in {elapsed:.1f}s")
        return outcome

    def _enqueue(self, kind, file, year, unit_cf, actor, skip_invalid, dry_run, allow_empty, category=None):
        """The same pipeline the admin upload runs: import → recalculations → statistics, in a worker."""
        from pathlib import Path

        from carbon.jobs.services import import_enqueue

        if dry_run:
            raise CommandError("--dry-run runs in the foreground; drop --background")
        try:
            content = Path(file).read_bytes()
        except FileNotFoundError:
            raise CommandError(f"file not found: {file}") from None
        pipeline = import_enqueue(kind=kind, content=content, file_name=Path(file).name, year=year,
                                  unit_cf=unit_cf, actor=actor, skip_invalid=skip_invalid,
                                  allow_empty=allow_empty, source="command", category=category)
        self.stdout.write(f"queued pipeline #{pipeline.pk} ({kind}); a worker runs it "
                          f"(python manage.py qcluster); follow it in the admin: /admin/carbon/pipeline/{pipeline.pk}/")

    @staticmethod
    def _where(item) -> str:
        parts = []
        if item.row is not None:
            parts.append(f"row {item.row}")
        if item.column:
            parts.append(f"column {item.column}")
        return (", ".join(parts) + ": ") if parts else ""

    @staticmethod
    def _progress_printer():
        started = time.monotonic()

        def report(rows: int) -> None:
            rate = rows / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(f"\r{rows:>10,} rows  {rate:>10,.0f} rows/s")
            sys.stderr.flush()

        return report
