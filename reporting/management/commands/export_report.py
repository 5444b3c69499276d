"""`manage.py export_report {results,usage,detailed,combined} --year Y [--year Y2] [--unit CF]
[--completion C] [--modules M:S] [--search TEXT] [--format csv|json|zip|pdf] [--output PATH]`.

The operator's command line is not scoped: every unit unless `--unit` narrows it (said in the audit event).
The same exports, filters and code as the admin's Exports page (`reporting.exports`).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from infra.events import emit
from reporting.exports import EXPORTS, FilterError, ReportFilters, build_export
from units.operators import add_actor_argument, operator_resolve

DEFAULT_FORMATS = {"detailed": "zip"}


class Command(BaseCommand):
    help = ("Export a report (CSV to stdout when no --output is given; a ZIP or a PDF needs --output). "
            "Not scoped: every unit unless --unit is given.")

    def add_arguments(self, parser):
        parser.add_argument("report", choices=list(EXPORTS))
        parser.add_argument("--year", type=int, action="append", required=True, help="Repeat for several years.")
        parser.add_argument("--unit", action="append", default=[], metavar="CF",
                            help="A unit's institutional id: that unit and its subtree (repeatable).")
        parser.add_argument("--completion", action="append", default=[],
                            help="not_started, in_progress or validated (repeatable).")
        parser.add_argument("--modules", action="append", default=[], metavar="MODULE:STATUS",
                            help="e.g. professional_travel:validated (repeatable).")
        parser.add_argument("--search", default="")
        parser.add_argument("--format", choices=["csv", "json", "zip", "pdf"])
        parser.add_argument("--output")
        add_actor_argument(parser)

    def handle(self, *args, report, year, unit, completion, modules, search, format, output, actor, **options):
        fmt_name = format or DEFAULT_FORMATS.get(report, "csv")
        operator, operator_label = operator_resolve(actor)
        query = {"year": [str(y) for y in year], "unit": unit, "completion": completion, "modules": modules,
                 "search": search}
        try:
            filters = ReportFilters.from_query(query, None)  # the operator's command line: unscoped
            export = build_export(report, fmt_name, filters)
        except FilterError as error:
            raise CommandError(str(error)) from None
        if output:
            with open(output, "wb") as handle:
                for chunk in export.chunks:
                    handle.write(chunk)
        elif fmt_name in {"zip", "pdf"}:
            raise CommandError(f"a {fmt_name} file needs --output PATH")
        else:
            for chunk in export.chunks:  # each chunk ends on a whole character (csv_chunks, json_chunks)
                self.stdout.write(chunk.decode("utf-8"), ending="")
            self.stdout.flush()
        emit("exported", source="command", actor=operator, actor_label=operator_label, report=report,
             year=filters.years[0] if len(filters.years) == 1 else list(filters.years), format=fmt_name,
             rows=export.rows, output=output or "stdout", filters=filters.describe())
        if output:
            self.stderr.write(f"{export.rows} rows written to {output}")
