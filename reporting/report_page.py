"""What the back-office reporting page (`/admin/reporting/report/`) shows, assembled from the exports' filters
(`ReportFilters`, clamped to the caller's scope) and the roll-up (`rolled_up_figures`).

- **Rows**: one per shown report (year × unit), with the unit's subtree figures within the reach — the very
  numbers of the results export (a faculty or the institution is the sum of its subtree's labs).
- **Aggregate** (the completion bar, the usage cards, the charts): per year, the emission rows of every unit of
  the reach that lies in the subtree of a shown unit, each row once — so when EPFL and its faculties are both
  shown, the footprint is EPFL's, not EPFL + ENAC + …; when only ENAC's labs are shown, it is their sum.
- **Sorting and paging**: the shown rows are at most a few thousand (one per unit and year), so they are sorted in
  Python and cut with an offset (`page`, `per_page`); no keyset is needed at that size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from carbon import taxonomy
from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import CATEGORIES
from infra.bulk import execute_bound
from modules.registry import KINDS
from reporting.exports.filters import FilterError, ReportFilters
from reporting.selectors import Figures, rolled_up_figures

__all__ = ["PAGE_SIZES", "SORTS", "ReportPage", "ReportRow", "Paging", "paging_from_query", "report_page"]

PAGE_SIZES = ("25", "50", "100", "all")
DEFAULT_PAGE_SIZE = "50"
# sort key → how a row sorts (ties: year, then the unit's place in the tree)
SORTS = {
    "year": lambda r: r.year,
    "unit": lambda r: r.name.casefold(),
    "code": lambda r: r.cf,
    "level": lambda r: r.level,
    "validated_modules": lambda r: (r.figures.validated_modules / r.figures.modules) if r.figures.modules else -1,
    "total": lambda r: r.figures.total,
    "total_validated": lambda r: r.figures.validated_total,
    "scope1": lambda r: r.figures.scopes[1],
    "scope2": lambda r: r.figures.scopes[2],
    "scope3": lambda r: r.figures.scopes[3],
}
DEFAULT_SORT = "unit_path"  # the tree's order: year, then path (a faculty above its institutes and labs)


@dataclass(frozen=True)
class Paging:
    sort: str = DEFAULT_SORT
    descending: bool = False
    per_page: str = DEFAULT_PAGE_SIZE
    page: int = 1


def paging_from_query(query) -> Paging:
    """`sort` (a column of SORTS, `-` first for descending), `per_page` (25, 50, 100 or all), `page` (from 1);
    FilterError naming the parameter for a value the page cannot use."""
    sort = (query.get("sort") or DEFAULT_SORT).strip()
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key != DEFAULT_SORT and key not in SORTS:
        raise FilterError("sort", _("%(value)s is not one of %(choices)s") % {
            "value": key[:40], "choices": ", ".join(SORTS)})
    per_page = (query.get("per_page") or DEFAULT_PAGE_SIZE).strip()
    if per_page not in PAGE_SIZES:
        raise FilterError("per_page", _("%(value)s is not one of %(choices)s") % {
            "value": per_page[:40], "choices": ", ".join(PAGE_SIZES)})
    page_text = (query.get("page") or "1").strip()
    if not page_text.isdigit() or not 1 <= int(page_text) <= 1_000_000:
        raise FilterError("page", _("a page is a number from 1"))
    return Paging(sort=key, descending=descending, per_page=per_page, page=int(page_text))


@dataclass
class ReportRow:
    year: int
    unit_id: int
    cf: str
    name: str
    path_name: str
    level: int
    figures: Figures  # the subtree within the reach: the results export's numbers
    own: Figures  # what the unit entered itself


@dataclass
class Usage:
    labs: int = 0
    reports: int = 0
    entries: int = 0
    validated_modules: int = 0
    modules: int = 0
    users: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.validated_modules / self.modules) if self.modules else 0


@dataclass
class ReportPage:
    filters: ReportFilters
    paging: Paging
    rows: list[ReportRow]  # the rows of the current page
    row_count: int
    pages: int
    per_year: dict[int, Figures]  # the aggregate of each chosen year
    aggregate: Figures  # all chosen years together
    validated_scopes: dict[int, Decimal]  # the aggregate's validated kg by scope (the roll-up keeps categories)
    by_affiliation: list[tuple[str, Figures]]  # the aggregate split by affiliation, in tree order
    usage: Usage = field(default_factory=Usage)

    @property
    def first_row(self) -> int:
        return 0 if not self.row_count else 1 + (self.paging.page - 1) * self._size

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0

    @property
    def _size(self) -> int:
        return self.row_count or 1 if self.paging.per_page == "all" else int(self.paging.per_page)

    @property
    def category_rows(self) -> list[tuple[str, Decimal, Decimal]]:
        return [(c, self.aggregate.categories[c], self.aggregate.validated_categories[c]) for c in CATEGORIES]


def report_page(filters: ReportFilters, paging: Paging) -> ReportPage:
    units = filters.units()
    rolled = rolled_up_figures(years=filters.years, units=units)
    empty = Figures()
    shown = (filters.reports().order_by("year_id", "unit__path_name", "unit_id")
             .values_list("pk", "year_id", "unit_id", "unit__institutional_id", "unit__name", "unit__path_name",
                          "unit__level", "unit__institutional_code"))
    rows, shown_codes, shown_levels = [], defaultdict(set), defaultdict(list)
    for _pk, year, unit_id, cf, name, path_name, level, code in shown:
        rows.append(ReportRow(year, unit_id, cf or "", name, path_name, level,
                              rolled.subtree.get((year, unit_id), empty), rolled.own.get((year, unit_id), empty)))
        shown_codes[year].add(code)
        shown_levels[year].append(level)
    if paging.sort != DEFAULT_SORT:  # stable: equal keys keep the tree order
        rows.sort(key=SORTS[paging.sort], reverse=paging.descending)
    elif paging.descending:
        rows.reverse()
    size = len(rows) or 1 if paging.per_page == "all" else int(paging.per_page)
    pages = max(1, -(-len(rows) // size))
    if paging.page > pages:
        raise FilterError("page", _("page %(page)s does not exist: there are %(pages)s") % {
            "page": paging.page, "pages": pages})
    page_rows = rows[(paging.page - 1) * size: paging.page * size]

    # The aggregate: the reach's units inside a shown unit's subtree, each unit's own rows once.
    reach, names, levels, order = {}, {}, {}, {}
    for position, (pk, path, level, code, name) in enumerate(units.order_by("path_name").values_list(
            "pk", "path_institutional_code", "level", "institutional_code", "name")):
        reach[pk] = (path.split(), level)
        names[code], levels[code], order[code] = name, level, position
    group_levels: dict[str, int] = {}
    per_year: dict[int, Figures] = {}
    aggregate = Figures()
    groups: dict[str, Figures] = {}
    counted: list[tuple[int, int]] = []
    for year in filters.years:
        if not shown_codes[year]:
            continue
        group_level = min(min(shown_levels[year]) + 1, 4)  # one level below the highest shown unit
        for (own_year, unit_id), own in rolled.own.items():
            path, _level = reach.get(unit_id, ((), 0))
            if own_year != year or not shown_codes[year].intersection(path):
                continue
            counted.append((year, unit_id))
            per_year.setdefault(year, Figures()).add(own)
            aggregate.add(own)
            group = path[min(group_level, len(path)) - 1]
            group_levels[group] = max(group_levels.get(group, 0), group_level)
            groups.setdefault(group, Figures()).add(own)
    by_affiliation = []
    for code in sorted(groups, key=lambda c: order.get(c, 0)):
        name = names.get(code, code)
        if levels.get(code, 4) < group_levels.get(code, 0):  # a unit above the affiliations: its own entries
            if not groups[code].total:
                continue
            name = _("%(unit)s (its own entries)") % {"unit": name}
        by_affiliation.append((name, groups[code]))
    return ReportPage(filters=filters, paging=paging, rows=page_rows, row_count=len(rows), pages=pages,
                      per_year=dict(sorted(per_year.items())), aggregate=aggregate,
                      validated_scopes=_validated_scopes(filters.years, counted), by_affiliation=by_affiliation,
                      usage=_usage(filters, counted, reach))


def _validated_scopes(years, counted: list[tuple[int, int]]) -> dict[int, Decimal]:
    wanted = set(counted)
    scopes = {1: Decimal(0), 2: Decimal(0), 3: Decimal(0)}
    sums = (Emission.objects.filter(year__in=years, unit_id__in={unit_id for _year, unit_id in wanted},
                                    module_report__status=ModuleStatus.VALIDATED)
            .values_list("year", "unit_id", "emission_type").order_by().annotate(kg=Sum("kg_co2eq")))
    for year, unit_id, emission_type, kg in sums:
        if (year, unit_id) in wanted:
            scopes[taxonomy.scope_of(emission_type)] += kg
    return scopes


def _usage(filters: ReportFilters, counted: list[tuple[int, int]], reach: dict) -> Usage:
    """The usage cards over the aggregate's reports: labs, entries (the module statistics' counts), the labs'
    validated modules (the campaign's cells, as the progress page counts them: a faculty's or an institute's
    report would never be validated and would keep the bar short of 100 %), and the people who entered data."""
    wanted = set(counted)
    modules = (ModuleReport.objects.filter(report__year_id__in=filters.years,
                                           report__unit_id__in={unit_id for _year, unit_id in wanted})
               .values_list("pk", "report__year_id", "report__unit_id", "status"))
    module_ids, lab_modules, lab_validated = [], 0, 0
    for pk, year, unit_id, status in modules:
        if (year, unit_id) not in wanted:
            continue
        module_ids.append(pk)
        if reach.get(unit_id, ((), 0))[1] == 4:
            lab_modules += 1
            lab_validated += status == ModuleStatus.VALIDATED
    entries = (ModuleReport.objects.filter(pk__in=module_ids)
               .aggregate(n=Sum(Cast(KT("stats__entry_count"), IntegerField())))["n"] or 0)
    labs = {unit_id for _year, unit_id in wanted if reach.get(unit_id, ((), 0))[1] == 4}
    return Usage(labs=len(labs), reports=len(wanted), entries=entries, validated_modules=lab_validated,
                 modules=lab_modules, users=_people_count(module_ids))


def _people_count(module_ids: list[int]) -> int:
    """How many people entered rows in these module reports, over every entry table in one statement: the ids go
    once, as one binary array (an institution-wide page names ~40,000 module reports; an IN list of that size per
    entry table cost ~0.5 s each)."""
    if not module_ids:
        return 0
    quote = connection.ops.quote_name
    tables = sorted({spec.model._meta.db_table for spec in KINDS.values()})  # a model may hold several kinds
    union = " UNION ".join(f"SELECT e.created_by_id FROM {quote(table)} e "
                           f"JOIN chosen ON chosen.id = e.module_report_id WHERE e.created_by_id IS NOT NULL"
                           for table in tables)
    rows = execute_bound(f"WITH chosen AS (SELECT unnest(%b::bigint[]) AS id) SELECT count(*) FROM ({union}) people",
                         [module_ids])
    return rows[0][0]
