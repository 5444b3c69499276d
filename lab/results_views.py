"""The results page of a lab's year and its CSV: validated modules only (product.md §5 decision 9).

The figures are the API's (`UnitResultsSerializer` over `unit_results`, the JSON of
`/api/v1/units/{cf}/years/{year}/results/`), so the page, its CSV and the API never disagree; the template only
shortens them for reading (`floatformat`, in the active locale).

The charts are drawn on the server (reporting/charts.py: Vega-Lite → SVG by vl-convert) and inlined: the page
needs no JavaScript (the CSP's script-src 'self' stays as it is: Vega's expression parser would want
'unsafe-eval' in a browser), and the back-office PDF can use the very same pictures.
"""

from __future__ import annotations

import io
import logging
import re
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from carbon.models import ModuleStatus
from infra.csvio import write_csv
from infra.events import emit
from lab.labels import label, module_label
from lab.pages import LabPage, lab_page
from reporting import charts
from reporting.results import UnitResults, status_name, unit_results
from reporting.serializers import Kg, UnitResultsSerializer

logger = logging.getLogger(__name__)

_HUNDRED = Decimal(100)
_STATUS_LABELS = {ModuleStatus.NOT_STARTED: "Not started", ModuleStatus.IN_PROGRESS: "In progress",
                  ModuleStatus.VALIDATED: "Validated"}

CSV_HEADER = ["unit_institutional_id", "year", "section", "item", "label", "scope", "status", "kg_co2eq", "t_co2eq",
              "previous_year", "previous_kg_co2eq", "change_percent", "car_km", "t_co2eq_per_fte", "fte",
              "car_km_kg_co2eq_per_km", "car_km_source"]


def _scope_descriptions() -> dict[int, str]:
    return {
        1: gettext("Direct: fuel burnt on site, process gases."),
        2: gettext("Energy bought: electricity, heat and cooling of rooms, electricity of equipment."),
        3: gettext("Everything else: travel, purchases, commuting, food, waste, facilities, cloud, "
                   "construction."),
    }


def _status_label(status) -> str:
    return label(_STATUS_LABELS[ModuleStatus(status)])


def _share(kg: Decimal | None, total: Decimal | None) -> Decimal | None:
    if kg is None or not total or total <= 0:
        return None
    return kg / total * _HUNDRED


def _results(page: LabPage) -> tuple[UnitResults, dict]:
    results = unit_results(page.access.unit, page.year)
    return results, UnitResultsSerializer(results).data


# --- the page --------------------------------------------------------------------------------------------
def _tables(results: UnitResults, data: dict) -> dict:
    """The rows of the page's tables: the API's figures with translated labels and each one's share."""
    scopes = _scope_descriptions()
    scope_rows = [{"scope": s.scope, "label": charts.scope_label(s.scope), "description": scopes[s.scope],
                   "t": d["t"], "share": _share(s.kg, results.total_kg)}
                  for s, d in zip(results.scopes, data["scopes"], strict=True)]
    category_rows = []
    for category, d in zip(results.categories, data["categories"], strict=True):
        by_scope = {part.scope: part.t for part in category.by_scope}
        category_rows.append({
            "label": charts.category_label(category.category), "validated": category.validated,
            "module": category.module.name, "module_label": module_label(category.module), "t": d["t"],
            "share": _share(category.kg, results.total_kg),
            "scopes": [by_scope.get(scope) for scope in (1, 2, 3)],
        })
    module_rows = [{
        "name": m.module.name, "label": module_label(m.module), "status": status_name(m.status),
        "status_label": _status_label(m.status), "enabled": m.enabled, "validated": m.validated,
        "share": _share(m.kg, results.total_kg), "change_up": bool(m.change_percent and m.change_percent > 0),
        **{key: d[key] for key in (
            "t", "previous_t", "change_percent", "car_km", "t_per_fte")},
    } for m, d in zip(results.modules, data["modules"], strict=True)]
    return {"scope_rows": scope_rows, "category_rows": category_rows, "module_rows": module_rows}


def _tonnes_text(t: Decimal | None, decimals: int) -> str:
    if t is None:
        return gettext("not validated")
    return gettext("%(value)s t") % {"value": charts.format_t(t, decimals)}


def _listing(items: list[tuple[str, Decimal | None]], decimals: int) -> str:
    return "; ".join(f"{name}: {_tonnes_text(t, decimals)}" for name, t in items)


def _chart_texts(results: UnitResults) -> dict[str, str]:
    """A text alternative of each chart: what it shows, every value in it (the table next to it has them
    too)."""
    texts = {}
    categories = sorted(((charts.category_label(c.category), c.t) for c in results.categories
                         if c.validated and c.kg), key=lambda item: -item[1])
    if categories:
        decimals = charts.label_decimals(categories[0][1])
        split = [(charts.scope_label(s.scope), s.t) for s in results.scopes if s.kg]
        texts["categories"] = gettext("Tonnes of CO₂-eq by category, largest first: %(categories)s. By scope: "
                                      "%(scopes)s.") % {"categories": _listing(categories, decimals),
                                                        "scopes": _listing(split, decimals)}
    modules = sorted(((module_label(m.module), m.t) for m in results.modules if m.validated and m.kg is not None),
                     key=lambda item: -item[1])
    if modules:
        texts["modules"] = gettext("Tonnes of CO₂-eq by validated module, largest first: %(modules)s.") % {
            "modules": _listing(modules, charts.label_decimals(modules[0][1]))}
    if results.previous_total_kg is not None:
        pairs = [m for m in results.modules if m.kg is not None or m.previous_kg is not None]
        decimals = charts.label_decimals(max(max(m.t or 0, m.previous_t or 0) for m in pairs))
        per_module = "; ".join(
            gettext("%(module)s: %(previous)s in %(previous_year)s, %(current)s in %(year)s") % {
                "module": module_label(m.module), "previous_year": results.previous_year, "year": results.year,
                "previous": _tonnes_text(m.previous_t, decimals), "current": _tonnes_text(m.t, decimals)}
            for m in pairs)
        texts["years"] = gettext("Tonnes of CO₂-eq per module, %(previous_year)s against %(year)s: "
                                 "%(modules)s.") % {"previous_year": results.previous_year, "year": results.year,
                                                    "modules": per_module}
    return texts


_SVG_TAG = re.compile(r"<svg\b")


def _inline_svg(svg: str, title: str, described_by: str) -> str:
    """The picture as an image with a name for assistive technology; its marks are presentational."""
    attributes = (f'<svg role="img" aria-label="{escape(title)}" aria-describedby="{described_by}" '
                  'class="chart-svg" focusable="false"')
    return mark_safe(_SVG_TAG.sub(attributes, svg, count=1))  # vl-convert escapes the text of our own spec


def _charts(results: UnitResults) -> dict[str, dict]:
    titles = {"categories": gettext("Emissions by category and scope"),
              "modules": gettext("Emissions by module"),
              "years": gettext("%(year)s compared with %(previous_year)s") % {
                  "year": results.year, "previous_year": results.previous_year}}
    builders = {"categories": charts.category_scope_chart, "modules": charts.module_chart,
                "years": charts.year_comparison_chart}
    texts = _chart_texts(results)
    out = {}
    for name, build in builders.items():
        chart_id = f"chart-{name}"
        spec = build(results, chart_id)
        if spec is None:
            continue
        try:
            svg = _inline_svg(charts.render_svg(spec), titles[name], f"{chart_id}-text")
        except Exception:  # a missing or broken renderer costs the picture, never the page: the table stays
            logger.exception("chart %s of %s %s could not be drawn", name, results.unit_institutional_id,
                             results.year)
            svg = None
        out[name] = {"id": chart_id, "title": titles[name], "svg": svg, "text": texts.get(name, "")}
    return out


@require_safe
@login_required
def results(request, cf: str, year: int):
    """Big numbers, breakdowns by category, scope and module, the year before, three charts, what is missing."""
    page = lab_page(request, cf, year)
    results_, data = _results(page)
    context = page.context("results")
    openable = {item["name"] for item in context["lab_modules"]}  # a standard user's modules only
    missing = [{"name": m.module.name, "label": module_label(m.module), "status_label": _status_label(m.status),
                "linked": m.module.name in openable} for m in results_.missing]
    change = results_.change_percent
    context.update(
        data=data, missing=missing, charts=_charts(results_), **_tables(results_, data),
        change_direction="up" if change and change > 0 else "down" if change and change < 0 else "same",
        car_km_factor=results_.car_km_kg_co2eq_per_km.normalize(),  # 0.17, not 0.1700
    )
    return render(request, "lab/results.html", context)


# --- the CSV ---------------------------------------------------------------------------------------------
def csv_rows(results: UnitResults, data: dict) -> list[list]:
    """The page's numbers as rows of CSV_HEADER: the total, the scopes, the categories (and their split by
    scope), the modules. Figures as the API writes them (a dot for decimals); empty when not computed."""
    cf, year = results.unit_institutional_id, results.year

    def row(section, item, name, *, scope="", status="", kg=None, t=None, previous_kg=None, change=None,
            car_km=None, per_fte=None, fte=None, factor=None, source=""):
        return [cf, year, section, item, name, scope, status, kg, t,
                results.previous_year if section in ("total", "module") else "", previous_kg, change, car_km,
                per_fte, fte, factor, source]

    rows = [row("total", "total", gettext("Total of the validated modules"),
                status=f"{results.validated_modules}/{results.module_count}", kg=data["total_kg"],
                t=data["total_t"], previous_kg=data["previous_total_kg"], change=data["change_percent"],
                car_km=data["car_km"], per_fte=data["t_per_fte"], fte=data["fte"],
                factor=data["car_km_kg_co2eq_per_km"], source=data["car_km_source"])]
    rows += [row("scope", f"scope{d['scope']}", charts.scope_label(d["scope"]), scope=d["scope"], kg=d["kg"],
                 t=d["t"]) for d in data["scopes"]]
    for category, d in zip(results.categories, data["categories"], strict=True):
        status = "validated" if category.validated else "not_validated"
        rows.append(row("category", category.category, charts.category_label(category.category), status=status,
                        kg=d["kg"], t=d["t"]))
        rows += [row("category_scope", category.category, charts.category_label(category.category),
                     scope=part.scope, status=status, kg=_kg(part.kg), t=_kg(part.t))
                 for part in category.by_scope]
    rows += [row("module", d["module"], module_label(m.module), status=d["status"], kg=d["kg"], t=d["t"],
                 previous_kg=d["previous_kg"], change=d["change_percent"], car_km=d["car_km"],
                 per_fte=d["t_per_fte"]) for m, d in zip(results.modules, data["modules"], strict=True)]
    return rows


def _kg(value: Decimal) -> str:
    """Three decimals, half up, as the API writes kg and t (reporting/serializers.py)."""
    return Kg().to_representation(value)


@require_safe
@login_required
def results_csv(request, cf: str, year: int):
    """The results as CSV: UTF-8 with a BOM (spreadsheets read the accents), cells safe from formulas."""
    page = lab_page(request, cf, year)
    results_, data = _results(page)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    rows = csv_rows(results_, data)
    write_csv(rows, CSV_HEADER, buffer)
    emit("downloaded", source="lab", actor=request.user, unit=page.access.unit, request=request,
         list="results", year=page.year, format="csv", rows=len(rows))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    cf_part = re.sub(r"[^\w-]", "_", page.access.unit.institutional_id or "unit")
    response["Content-Disposition"] = f'attachment; filename="results-{cf_part}-{page.year}.csv"'
    return response
