"""The row exports: results (the 18-column contract first), usage, and combined (every unit × every category)."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from carbon.taxonomy import CATEGORIES, CATEGORY_LABELS
from reporting.exports.filters import ReportFilters
from reporting.exports.streaming import ExportFile, csv_chunks, json_chunks
from reporting.selectors import (
    RESULTS_COLUMNS,
    RESULTS_EXTRA_COLUMNS,
    USAGE_COLUMNS,
    Figures,
    fmt,
    iter_results_rows,
    iter_usage_rows,
    rolled_up_figures,
)

__all__ = ["COMBINED_COLUMNS", "combined_rows", "results_export", "tabular_export", "usage_export"]

COMBINED_COLUMNS = ["year", "unit_institutional_id", "unit_name", "unit_path_name", "unit_level",
                    "validated_modules", "category", "category_label", "kg_co2eq", "kg_co2eq_validated",
                    "own_kg_co2eq"]


def stamp() -> str:
    return timezone.now().strftime("%Y%m%d_%H%M%S")


def results_rows_for(filters: ReportFilters) -> Iterator[dict]:
    units = filters.units()
    return iter_results_rows(years=filters.years, units=units, shown=filters.reports(),
                             figures=rolled_up_figures(years=filters.years, units=units))


def combined_rows(filters: ReportFilters) -> Iterator[dict]:
    """Every shown report × every category (zeros included, no cap), rolled up like the results export: Σ of a
    unit's categories is its results `total`."""
    units = filters.units()
    figures = rolled_up_figures(years=filters.years, units=units)
    empty = Figures()
    reports = (filters.reports().order_by("year_id", "unit__path_name", "unit_id")
               .values_list("year_id", "unit_id", "unit__institutional_id", "unit__name", "unit__path_name",
                            "unit__level"))
    for year, unit_id, cf, name, path_name, level in reports.iterator(chunk_size=2000):
        t = figures.subtree.get((year, unit_id), empty)
        mine = figures.own.get((year, unit_id), empty)
        for category in CATEGORIES:
            yield {"year": year, "unit_institutional_id": cf or "", "unit_name": name, "unit_path_name": path_name,
                   "unit_level": level, "validated_modules": f"{t.validated_modules}/{t.modules}",
                   "category": category, "category_label": CATEGORY_LABELS[category],
                   "kg_co2eq": fmt(t.categories[category]),
                   "kg_co2eq_validated": fmt(t.validated_categories[category]),
                   "own_kg_co2eq": fmt(mine.categories[category])}


def tabular_export(name: str, rows: Iterator[dict], columns: list[str], fmt_name: str) -> ExportFile:
    export = ExportFile(filename=f"{name}_report_{stamp()}.{fmt_name}",
                        content_type="application/json" if fmt_name == "json" else "text/csv; charset=utf-8")
    counted = export.counted(rows)
    export.chunks = json_chunks(counted) if fmt_name == "json" else csv_chunks(counted, columns)
    return export


def results_export(filters: ReportFilters, fmt_name: str) -> ExportFile:
    return tabular_export("results", results_rows_for(filters), RESULTS_COLUMNS + RESULTS_EXTRA_COLUMNS, fmt_name)


def usage_export(filters: ReportFilters, fmt_name: str) -> ExportFile:
    rows = iter_usage_rows(years=filters.years, units=filters.units(), shown=filters.reports(),
                           module_statuses=filters.module_statuses)
    return tabular_export("usage", rows, USAGE_COLUMNS, fmt_name)


def combined_export(filters: ReportFilters, fmt_name: str) -> ExportFile:
    return tabular_export("combined", combined_rows(filters), COMBINED_COLUMNS, fmt_name)
