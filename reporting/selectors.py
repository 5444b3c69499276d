"""Reads for results and back-office reports. Every sum is one indexed query over leaf emission rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from carbon import taxonomy
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import CATEGORIES, Module

__all__ = ["RESULTS_COLUMNS", "USAGE_COLUMNS", "ReportTotals", "report_totals", "results_rows", "usage_rows"]

RESULTS_COLUMNS = ["year", "unit_institutional_id", "unit_path_name", "scope1", "scope2", "scope3", "total",
                   *CATEGORIES]
RESULTS_EXTRA_COLUMNS = ["total_validated", "validated_modules"]
USAGE_COLUMNS = ["year", "unit_institutional_id", "unit_path_name", "module_name", "module_status", "last_updated"]


@dataclass
class ReportTotals:
    scopes: dict[int, Decimal]
    categories: dict[str, Decimal]
    validated_total: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.scopes.values(), Decimal(0))


def report_totals(reports: QuerySet[CarbonReport]) -> dict[int, ReportTotals]:
    """Totals per report: scopes and categories over all data, plus the validated-modules total."""
    totals: dict[int, ReportTotals] = {}
    report_of_module = dict(ModuleReport.objects.filter(report__in=reports).values_list("pk", "report_id"))
    validated = set(ModuleReport.objects.filter(report__in=reports, status=ModuleStatus.VALIDATED)
                    .values_list("pk", flat=True))
    rows = (Emission.objects.filter(module_report_id__in=list(report_of_module))
            .values("module_report_id", "emission_type").order_by().annotate(kg=Sum("kg_co2eq")))
    for row in rows:
        report_id = report_of_module[row["module_report_id"]]
        entry = totals.setdefault(report_id, ReportTotals({1: Decimal(0), 2: Decimal(0), 3: Decimal(0)},
                                                          defaultdict(Decimal), Decimal(0)))
        entry.scopes[taxonomy.scope_of(row["emission_type"])] += row["kg"]
        entry.categories[taxonomy.category_of(row["emission_type"])] += row["kg"]
        if row["module_report_id"] in validated:
            entry.validated_total += row["kg"]
    return totals


def fmt(value: Decimal | None) -> str:
    """kg with gram precision and no float noise: 198.50886 → '198.50886', 150 → '150'."""
    if value is None:
        return ""
    text = f"{value.quantize(Decimal('0.000001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def results_rows(*, year: int, units: QuerySet) -> list[dict]:
    """One row per report of the year in `units` (the caller's scope: there is no default to everything):
    the 18 contract columns (kg, all data) then labelled extras."""
    reports = (CarbonReport.objects.filter(year_id=year, unit__in=units).select_related("unit")
               .order_by("unit__path_name"))
    totals = report_totals(reports)
    validated_counts = defaultdict(int)
    for report_id in ModuleReport.objects.filter(report__in=reports, status=ModuleStatus.VALIDATED).values_list(
            "report_id", flat=True):
        validated_counts[report_id] += 1
    rows = []
    for report in reports:
        t = totals.get(report.pk)
        row = {"year": year, "unit_institutional_id": report.unit.institutional_id or "",
               "unit_path_name": report.unit.path_name}
        for scope in (1, 2, 3):
            row[f"scope{scope}"] = fmt(t.scopes[scope] if t else Decimal(0))
        row["total"] = fmt(t.total if t else Decimal(0))
        for category in CATEGORIES:
            row[category] = fmt(t.categories.get(category, Decimal(0)) if t else Decimal(0))
        row["total_validated"] = fmt(t.validated_total if t else Decimal(0))
        row["validated_modules"] = f"{validated_counts[report.pk]}/{len(Module)}"
        rows.append(row)
    return rows


def usage_rows(*, year: int, units: QuerySet) -> list[dict]:
    """One row per report × module of the units in `units` (the caller's scope), with status and last change."""
    modules = (ModuleReport.objects.filter(report__year_id=year, report__unit__in=units)
               .select_related("report__unit").order_by("report__unit__path_name", "module"))
    return [{
        "year": year, "unit_institutional_id": m.report.unit.institutional_id or "",
        "unit_path_name": m.report.unit.path_name, "module_name": Module(m.module).name,
        "module_status": ModuleStatus(m.status).name,
        "last_updated": m.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") if m.updated_at else "",
    } for m in modules]
