"""Back-office exports (issue #12): one registry, `EXPORTS`, read by the admin's Exports page and by
`manage.py export_report`, so both offer the same exports, formats and filters.

Every export takes a `ReportFilters` (always clamped to the caller's scope) and returns an `ExportFile` whose
content is a generator of bytes (streamed: bounded memory whatever the number of rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from reporting.exports.detailed import detailed_export
from reporting.exports.filters import FilterError, ReportFilters
from reporting.exports.streaming import ExportFile
from reporting.exports.tables import combined_export, results_export, usage_export

__all__ = ["EXPORTS", "ExportFile", "ExportKind", "FilterError", "ReportFilters", "build_export"]


@dataclass(frozen=True)
class ExportKind:
    name: str
    label: str
    description: str
    formats: tuple[str, ...]
    build: Callable[[ReportFilters, str], ExportFile]


def _pdf(filters: ReportFilters, fmt_name: str) -> ExportFile:
    from reporting.exports.pdf import report_pdf  # reportlab is imported only when a PDF is asked for

    return report_pdf(filters)


def _with_pdf(build):
    return lambda filters, fmt_name: _pdf(filters, fmt_name) if fmt_name == "pdf" else build(filters, fmt_name)


EXPORTS: dict[str, ExportKind] = {export.name: export for export in (
    ExportKind("results", _("Results"),
               _("One row per unit and year: the 18 contract columns (kg, all data; a parent unit is the sum of its "
                 "subtree), then the validated total and the unit's own entries."),
               ("csv", "json", "pdf"), _with_pdf(results_export)),
    ExportKind("detailed", _("Detailed data"),
               _("A ZIP with one CSV per entry kind: every entry with its unit, year, fields and emissions, and a "
                 "README describing the columns."),
               ("zip",), detailed_export),
    ExportKind("combined", _("Combined"),
               _("Every unit × every category (zeros included), all data and validated."),
               ("csv", "json", "pdf"), _with_pdf(combined_export)),
    ExportKind("usage", _("Usage"),
               _("One row per unit, year and module: its status and last change."),
               ("csv", "json"), usage_export),
)}


def build_export(name: str, fmt_name: str, filters: ReportFilters) -> ExportFile:
    """The export `name` in `fmt_name`; FilterError for an unknown export or format."""
    export = EXPORTS.get(name)
    if export is None:
        raise FilterError("export", str(_("unknown export %(name)s") % {"name": name[:40]}))
    if fmt_name not in export.formats:
        raise FilterError("format", str(_("%(name)s is available as %(formats)s") % {
            "name": name, "formats": ", ".join(export.formats)}))
    return export.build(filters, fmt_name)
