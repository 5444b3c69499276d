"""`/admin/reporting/report/`: the back-office reporting page (metier and admin roles; 403 for anyone with no
REPORT scope). GET only.

Its filters are the exports' (`ReportFilters.from_query(…, request.user)`: always the caller's scope ∩ the
filters), plus `sort`, `per_page` and `page`; a bad value answers 400 with the form and the reason. The charts
are Vega-Lite specs of `reporting.charts` drawn to SVG on the server and inlined, each named (`role="img"`) and
followed by a table of its numbers.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from carbon.models import ModuleStatus, YearConfiguration
from carbon.taxonomy import Module
from reporting import charts
from reporting.export_views import COMPLETION_LABELS, filters_query, module_filter_rows
from reporting.exports import EXPORTS, FilterError, ReportFilters
from reporting.exports.filters import COMPLETIONS
from reporting.links import lab_results_url
from reporting.report_page import DEFAULT_SORT, PAGE_SIZES, Paging, paging_from_query, report_page
from reporting.selectors import fmt
from units.scoping import Action, unit_scope

__all__ = ["report_view"]

logger = logging.getLogger(__name__)

_SVG_TAG = re.compile(r"<svg\b")


def _columns() -> list[tuple[str, str, bool]]:
    """The table's sortable columns, in order: (sort key of SORTS, header, numeric)."""
    return [("year", _("Year"), False), ("unit", _("Unit"), False), ("code", _("Unit id"), False),
            ("level", _("Level"), False), ("validated_modules", _("Validated modules"), True),
            ("total", _("All data, kg"), True), ("total_validated", _("Validated, kg"), True),
            ("scope1", _("Scope 1, kg"), True), ("scope2", _("Scope 2, kg"), True), ("scope3", _("Scope 3, kg"), True)]


def _chart(name: str, title: str, rows: list[tuple[str, Decimal, Decimal]], label_header: str) -> dict:
    """One chart of the aggregate: its SVG (None when nothing to draw or the renderer failed) and its table."""
    chart_id = f"chart-{name}"
    spec = charts.paired_bars_chart(rows, title, chart_id)
    svg = None
    if spec is not None:
        try:
            svg = mark_safe(_SVG_TAG.sub(  # noqa: S308 - vl-convert escapes the text of our own spec
                f'<svg role="img" aria-label="{escape(title)}" aria-describedby="{chart_id}-table" '
                'class="chart-svg" focusable="false"', charts.render_svg(spec), count=1))
        except Exception:  # a broken renderer costs the picture, never the page: the table stays
            logger.exception("report chart %s could not be drawn", name)
    return {"id": chart_id, "title": title, "svg": svg, "label_header": label_header,
            "rows": [{"label": label, "all": all_kg, "validated": validated_kg}
                     for label, all_kg, validated_kg in rows]}


def _charts(page) -> list[dict]:
    aggregate = page.aggregate
    return [
        _chart("categories", _("Footprint by category: all data and validated modules only"),
               [(charts.category_label(c), all_kg, v) for c, all_kg, v in page.category_rows], _("Category")),
        _chart("scopes", _("Footprint by scope: all data and validated modules only"),
               [(charts.scope_label(s), aggregate.scopes[s], page.validated_scopes[s]) for s in (1, 2, 3)],
               _("Scope")),
        _chart("modules", _("Footprint by module: all data and validated modules only"),
               [(_(m.label), aggregate.module_kg.get(int(m), Decimal(0)),
                 aggregate.validated_module_kg.get(int(m), Decimal(0))) for m in Module], _("Module")),
        _chart("affiliations", _("Footprint by affiliation: all data and validated modules only"),
               [(name, f.total, f.validated_total) for name, f in page.by_affiliation], _("Affiliation")),
        _chart("years", _("Footprint by year: all data and validated modules only"),
               [(str(year), f.total, f.validated_total) for year, f in page.per_year.items()], _("Year")),
    ]


def _sort_links(base_query: list[tuple[str, str]], paging: Paging) -> list[dict]:
    """Each column header's link: sort by it, ascending first, the other way when already sorted by it."""
    out = []
    for key, label, numeric in _columns():
        current = paging.sort == key
        descending = not paging.descending if current else numeric  # numbers sort largest first
        query = urlencode(base_query + [("sort", f"-{key}" if descending else key), ("per_page", paging.per_page)])
        aria = ("descending" if paging.descending else "ascending") if current else None
        out.append({"key": key, "label": label, "numeric": numeric, "url": f"?{query}", "aria_sort": aria,
                    "arrow": ("▼" if paging.descending else "▲") if current else ""})
    return out


def _filter_pairs(filters: ReportFilters) -> list[tuple[str, str]]:
    return parse_qsl(filters_query(filters))


def _table_row(row) -> dict:
    """A unit's row: kg exact in `data-kg` (the results export's text) and shown rounded with separators."""
    f = row.figures
    return {"year": row.year, "cf": row.cf, "name": row.name, "path_name": row.path_name, "level": row.level,
            "url": lab_results_url(row.cf, row.year) if row.level == 4 else "",
            "validated_modules": f"{f.validated_modules}/{f.modules}",
            "numbers": [(fmt(kg), kg) for kg in (f.total, f.validated_total, f.scopes[1], f.scopes[2], f.scopes[3])]}


def report_view(admin_site):
    @require_GET
    def view(request):
        scope = unit_scope(request.user, Action.REPORT)
        if scope.is_empty:
            raise PermissionDenied
        error, filters, page, paging = None, None, None, Paging()
        try:
            filters = ReportFilters.from_query(request.GET, request.user, default_latest_year=True)
            paging = paging_from_query(request.GET)
            page = report_page(filters, paging)
        except FilterError as failure:
            error = failure
        pairs = _filter_pairs(filters) if filters else []
        sort_param = ([("sort", f"{'-' if paging.descending else ''}{paging.sort}")]
                      if paging.sort != DEFAULT_SORT or paging.descending else [])
        query = urlencode(pairs)
        context = {
            **admin_site.each_context(request),
            "title": _("Reporting"),
            "years": sorted(YearConfiguration.objects.values_list("year", flat=True), reverse=True),
            "filters": filters, "error": error, "page": page, "paging": paging,
            "tree_order": paging.sort == DEFAULT_SORT and not paging.descending,
            "affiliations": scope.units().filter(level__lt=4, is_active=True).order_by("path_name"),
            "affiliation": (request.GET.get("affiliation") or "").strip()[:64],
            "unit_text": (request.GET.get("unit") or "").strip()[:200],
            "completions": [(c, COMPLETION_LABELS[c]) for c in COMPLETIONS],
            "statuses": [s.label for s in ModuleStatus],
            "module_rows": module_filter_rows(filters),
            "page_sizes": [{"value": size, "label": _("all") if size == "all" else size,
                            "url": "?" + urlencode(pairs + sort_param + [("per_page", size)]),
                            "current": size == paging.per_page} for size in PAGE_SIZES],
            "columns": _sort_links(pairs, paging),
            "query": query, "sort_value": sort_param[0][1] if sort_param else "",
            "exports_url": f"{reverse('reporting-exports')}?{query}",
            "exports": [{"label": e.label, "links": [(fmt, f"{reverse('reporting-export', args=[e.name, fmt])}?{query}")
                                                     for fmt in e.formats]} for e in EXPORTS.values()],
            "progress_url": reverse("reporting-progress"),
            "charts": _charts(page) if page else [],
        }
        if page:
            context["table_rows"] = [_table_row(row) for row in page.rows]
            page_query = pairs + sort_param + [("per_page", paging.per_page)]
            context["previous_url"] = ("?" + urlencode(page_query + [("page", paging.page - 1)])
                                       if paging.page > 1 else None)
            context["next_url"] = ("?" + urlencode(page_query + [("page", paging.page + 1)])
                                   if paging.page < page.pages else None)
        # No year yet (a fresh install) is not a bad request: the page says so.
        status = 400 if error and (context["years"] or error.parameter != "year") else 200
        return TemplateResponse(request, "admin/reporting/report.html", context, status=status)

    return view
