"""Reads for results and back-office reports. Every sum is one indexed query over leaf emission rows.

**Roll-up** (issue #12): a unit's row is the sum of the emission rows of every unit of its subtree (itself
included) that lies in the units the caller reaches (`units`: the caller's scope ∩ their unit filters). Each
emission row belongs to exactly one report, so within a row nothing is counted twice; the institution's row is
the sum of every lab (and of any parent unit's own entries). A parent unit's own entries — when a faculty
itself enters data — count in its row and in every ancestor's row, once. `own_total` / `own_total_validated`
say what the unit entered itself: summed over all rows of an export they give the whole total without double
counting, whereas summing `total` over rows of several levels would count each lab once per level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from carbon import taxonomy
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import CATEGORIES, Module

__all__ = ["RESULTS_COLUMNS", "RESULTS_EXTRA_COLUMNS", "USAGE_COLUMNS", "Figures", "ReportTotals", "fmt",
           "iter_results_rows", "iter_usage_rows", "report_totals", "results_rows", "rolled_up_figures",
           "usage_rows"]

RESULTS_COLUMNS = ["year", "unit_institutional_id", "unit_path_name", "scope1", "scope2", "scope3", "total",
                   *CATEGORIES]
# After the 18-column contract (product.md §5 decision 10): the validated total (decision 9), the validated
# module reports of the subtree, and what the unit entered itself (see the module docstring).
RESULTS_EXTRA_COLUMNS = ["total_validated", "validated_modules", "unit_name", "unit_level", "own_total",
                         "own_total_validated"]
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
    """Totals per report (its own rows, no roll-up): scopes and categories over all data, plus the
    validated-modules total."""
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


# --- the roll-up ----------------------------------------------------------------------------------------------
@dataclass
class Figures:
    """kg of one unit and year: all data by scope and category, the validated part, module report counts."""

    scopes: dict[int, Decimal] = field(default_factory=lambda: {1: Decimal(0), 2: Decimal(0), 3: Decimal(0)})
    categories: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, Decimal(0)))
    validated_categories: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, Decimal(0)))
    category_scopes: dict[tuple[str, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    module_kg: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    validated_module_kg: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    validated_modules: int = 0
    modules: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.scopes.values(), Decimal(0))

    @property
    def validated_total(self) -> Decimal:
        return sum(self.validated_categories.values(), Decimal(0))

    def add(self, other: Figures) -> None:
        for scope, kg in other.scopes.items():
            self.scopes[scope] += kg
        for category in CATEGORIES:
            self.categories[category] += other.categories[category]
            self.validated_categories[category] += other.validated_categories[category]
        for key, kg in other.category_scopes.items():
            self.category_scopes[key] += kg
        for module, kg in other.module_kg.items():
            self.module_kg[module] += kg
        for module, kg in other.validated_module_kg.items():
            self.validated_module_kg[module] += kg
        self.validated_modules += other.validated_modules
        self.modules += other.modules


@dataclass(frozen=True)
class RolledUp:
    own: dict[tuple[int, int], Figures]  # (year, unit pk) → the unit's own rows
    subtree: dict[tuple[int, int], Figures]  # (year, unit pk) → the unit's subtree within the reach


def _years(year: int | Iterable[int]) -> list[int]:
    return [int(year)] if isinstance(year, int | str) else sorted({int(y) for y in year})


def rolled_up_figures(*, years: Sequence[int], units: QuerySet) -> RolledUp:
    """Own and subtree figures of every unit of `units` for `years`: two GROUP BYs over leaves and module reports
    (memory: units × emission types, never entries), then each unit's own figures added to itself and to each
    of its ancestors within `units` (the code path's tokens)."""
    reach = dict(units.order_by().values_list("pk", "path_institutional_code"))
    code_to_pk = dict(units.order_by().values_list("institutional_code", "pk"))
    own: dict[tuple[int, int], Figures] = defaultdict(Figures)
    sums = (Emission.objects.filter(year__in=years, unit_id__in=units.values("pk"))
            .values_list("year", "unit_id", "emission_type", "module_report__status").order_by()
            .annotate(kg=Sum("kg_co2eq")))
    for year, unit_id, emission_type, status, kg in sums:
        figures = own[year, unit_id]
        category, scope = taxonomy.category_of(emission_type), taxonomy.scope_of(emission_type)
        module = int(taxonomy.get(emission_type).module)
        figures.scopes[scope] += kg
        figures.categories[category] += kg
        figures.category_scopes[category, scope] += kg
        figures.module_kg[module] += kg
        if status == ModuleStatus.VALIDATED:
            figures.validated_categories[category] += kg
            figures.validated_module_kg[module] += kg
    counts = (ModuleReport.objects.filter(report__year_id__in=years, report__unit_id__in=units.values("pk"))
              .values_list("report__year_id", "report__unit_id", "status").order_by().annotate(n=Count("pk")))
    for year, unit_id, status, n in counts:
        own[year, unit_id].modules += n
        if status == ModuleStatus.VALIDATED:
            own[year, unit_id].validated_modules += n
    subtree: dict[tuple[int, int], Figures] = defaultdict(Figures)
    for (year, unit_id), figures in own.items():
        path = reach.get(unit_id) or ""
        ancestors = {code_to_pk[token] for token in path.split() if token in code_to_pk} | {unit_id}
        for ancestor in ancestors:
            subtree[year, ancestor].add(figures)
    return RolledUp(own=dict(own), subtree=dict(subtree))


def iter_results_rows(*, years: Sequence[int], units: QuerySet, shown: QuerySet[CarbonReport] | None = None,
                      figures: RolledUp | None = None) -> Iterator[dict]:
    """One row per report of `years` in `units` (optionally only the reports in `shown`), ordered by year and
    affiliation: the 18 contract columns (kg, all data, rolled up over the subtree) then labelled extras."""
    figures = figures or rolled_up_figures(years=years, units=units)
    reports = CarbonReport.objects.filter(year_id__in=years, unit__in=units)
    if shown is not None:
        reports = reports.filter(pk__in=shown.values("pk"))
    empty = Figures()
    rows = (reports.order_by("year_id", "unit__path_name", "unit_id")
            .values_list("year_id", "unit_id", "unit__institutional_id", "unit__path_name", "unit__name",
                         "unit__level"))
    for year, unit_id, cf, path_name, name, level in rows.iterator(chunk_size=2000):
        t = figures.subtree.get((year, unit_id), empty)
        mine = figures.own.get((year, unit_id), empty)
        row = {"year": year, "unit_institutional_id": cf or "", "unit_path_name": path_name}
        for scope in (1, 2, 3):
            row[f"scope{scope}"] = fmt(t.scopes[scope])
        row["total"] = fmt(t.total)
        for category in CATEGORIES:
            row[category] = fmt(t.categories[category])
        row.update({"total_validated": fmt(t.validated_total),
                    "validated_modules": f"{t.validated_modules}/{t.modules or len(Module)}",
                    "unit_name": name, "unit_level": level, "own_total": fmt(mine.total),
                    "own_total_validated": fmt(mine.validated_total)})
        yield row


def results_rows(*, year: int | Sequence[int], units: QuerySet) -> list[dict]:
    """`iter_results_rows` as a list, for one or several years. `units` is the caller's scope: there is no
    default to everything."""
    return list(iter_results_rows(years=_years(year), units=units))


def iter_usage_rows(*, years: Sequence[int], units: QuerySet, shown: QuerySet[CarbonReport] | None = None,
                    module_statuses: Iterable[tuple[int, int]] = ()) -> Iterator[dict]:
    """One row per report × module of `units` in `years`, with status and last change; `module_statuses`
    ((module, status) pairs) keeps only those module rows."""
    modules = ModuleReport.objects.filter(report__year_id__in=years, report__unit__in=units)
    if shown is not None:
        modules = modules.filter(report__in=shown.values("pk"))
    pairs = list(module_statuses)
    if pairs:
        condition = Q(pk__in=[])
        for module, status in pairs:
            condition |= Q(module=module, status=status)
        modules = modules.filter(condition)
    rows = (modules.order_by("report__year_id", "report__unit__path_name", "report__unit_id", "module")
            .values_list("report__year_id", "report__unit__institutional_id", "report__unit__path_name", "module",
                         "status", "updated_at"))
    for year, cf, path_name, module, status, updated_at in rows.iterator(chunk_size=2000):
        yield {"year": year, "unit_institutional_id": cf or "", "unit_path_name": path_name,
               "module_name": Module(module).name, "module_status": ModuleStatus(status).name,
               "last_updated": updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") if updated_at else ""}


def usage_rows(*, year: int | Sequence[int], units: QuerySet) -> list[dict]:
    """One row per report × module of the units in `units` (the caller's scope), with status and last change."""
    return list(iter_usage_rows(years=_years(year), units=units))
