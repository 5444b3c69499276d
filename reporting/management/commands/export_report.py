"""`manage.py export_report {results,usage} --year YEAR [--format csv|json] [--output PATH]`."""

from __future__ import annotations

import io
import json

from django.core.management.base import BaseCommand, CommandError

from infra.csvio import write_csv
from infra.events import emit
from reporting.selectors import RESULTS_COLUMNS, RESULTS_EXTRA_COLUMNS, USAGE_COLUMNS, results_rows, usage_rows
from units.models import Unit
from units.operators import add_actor_argument, operator_resolve

REPORTS = {
    "results": (results_rows, RESULTS_COLUMNS + RESULTS_EXTRA_COLUMNS),
    "usage": (usage_rows, USAGE_COLUMNS),
}


class Command(BaseCommand):
    help = "Export a report over every unit of a year (CSV to stdout when no --output is given)."

    def add_arguments(self, parser):
        parser.add_argument("report", choices=["results", "usage", "detailed", "combined"])
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--format", choices=["csv", "json", "pdf"], default="csv")
        parser.add_argument("--output")
        add_actor_argument(parser)

    def handle(self, *args, report, year, format, output, actor, **options):
        if report not in REPORTS or format == "pdf":
            raise CommandError(f"the {report} report in {format} is not available yet")
        select, columns = REPORTS[report]
        operator, operator_label = operator_resolve(actor)
        # The operator's command line is not scoped: every unit, said explicitly.
        rows = select(year=year, units=Unit.objects.all())
        buffer = io.StringIO(newline="")
        if format == "json":
            json.dump(rows, buffer, ensure_ascii=False, indent=1)
            buffer.write("\n")
        else:
            write_csv(rows, columns, buffer)
        emit("exported", source="command", actor=operator, actor_label=operator_label, report=report, year=year,
             format=format, rows=len(rows), output=output or "stdout")
        if output:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(buffer.getvalue())
            self.stderr.write(f"{len(rows)} rows written to {output}")
        else:
            self.stdout.write(buffer.getvalue(), ending="")
