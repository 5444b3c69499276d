"""PDF exports, drawn on the server by reportlab (pip only: no system library, no browser).

- `lab_results_pdf(unit, year)`: a lab's results as its results page shows them (validated modules only, the
  same charts: `reporting.charts`, rasterised by vl-convert);
- `backoffice_pdf(filters)`: a filtered back-office report: completion bar and usage counts, totals (all data and
  validated, each labelled), the aggregated charts by category and module (all data and validated), and one row
  per shown unit with the same kg as the results export.

`report_pdf(filters)` picks the lab's PDF when the filters name one lab and one year, else the back-office one.
A PDF holds one row per unit, not per entry: its size follows the organisation, never the data.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from carbon.models import CarbonReport, ModuleStatus
from carbon.taxonomy import CATEGORIES, CATEGORY_LABELS, Module
from reporting import charts
from reporting.exports.filters import FilterError, ReportFilters
from reporting.exports.streaming import ExportFile
from reporting.exports.tables import stamp
from reporting.results import (
    CATEGORY_MODULES,
    CategoryResult,
    ModuleResult,
    ScopeResult,
    UnitResults,
    car_km_factor,
    unit_results,
)
from reporting.selectors import Figures, fmt, rolled_up_figures
from units.models import Unit

__all__ = ["backoffice_pdf", "lab_results_pdf", "report_pdf"]

_FONT = "Vera"  # Bitstream Vera, shipped inside reportlab: Unicode text (accents) with no system font
_FONT_BOLD = "Vera-Bold"
_GREEN, _AMBER, _GREY = "#009E73", "#E69F00", "#BBBBBB"  # Okabe–Ito, as the charts


def _fonts() -> None:
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        folder = Path(reportlab.__file__).parent / "fonts"
        pdfmetrics.registerFont(TTFont(_FONT, str(folder / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(_FONT_BOLD, str(folder / "VeraBd.ttf")))


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    _fonts()
    return {
        "title": ParagraphStyle("title", fontName=_FONT_BOLD, fontSize=16, leading=20, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=_FONT_BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=12.5),
        "small": ParagraphStyle("small", fontName=_FONT, fontSize=8, leading=10),
    }


def _escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _t(kg: Decimal | None) -> str:
    """Tonnes with one decimal and thousand separators, for the headline figures."""
    return "—" if kg is None else f"{kg / 1000:,.1f} t"


def _chart(spec: dict | None, title: str, styles, width_cm: float = 17):
    """A chart of `reporting.charts` as an image of the PDF (the same picture as the web page's SVG)."""
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepTogether, Paragraph

    if spec is None:
        return []
    png = charts.render_png(spec)
    reader = ImageReader(io.BytesIO(png))
    width, height = reader.getSize()
    shown = width_cm * cm
    return [KeepTogether([Paragraph(_escape(title), styles["h2"]),
                          Image(io.BytesIO(png), width=shown, height=shown * height / width)])]


def _table(rows: list[list], widths=None, header: bool = True):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("FONTNAME", (0, 0), (-1, -1), _FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
             ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style += [("FONTNAME", (0, 0), (-1, 0), _FONT_BOLD), ("BACKGROUND", (0, 0), (-1, 0),
                                                               colors.HexColor("#E8EEF0"))]
    table.setStyle(TableStyle(style))
    return table


def _completion_bar(counts: dict[str, int]):
    """Validated / in progress / not started as one bar (colour and a written count: colour is never the only
    cue)."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors
    from reportlab.lib.units import cm

    total = sum(counts.values()) or 1
    drawing = Drawing(17 * cm, 1.2 * cm)
    x = 0.0
    for key, colour in (("validated", _GREEN), ("in_progress", _AMBER), ("not_started", _GREY)):
        width = 17 * cm * counts[key] / total
        if width:
            drawing.add(Rect(x, 0.5 * cm, width, 0.6 * cm, fillColor=colors.HexColor(colour),
                             strokeColor=colors.HexColor(charts.INK), strokeWidth=0.5))
        x += width
    share = round(100 * counts["validated"] / total)
    drawing.add(String(0, 0, _("%(share)s %% of the units validated (%(done)s of %(total)s)") % {
        "share": share, "done": counts["validated"], "total": sum(counts.values())}, fontName=_FONT, fontSize=8))
    return drawing


def _document(buffer, title: str):
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(buffer, pagesize=A4, title=title, author="CO2 calculator", leftMargin=2 * cm,
                             rightMargin=2 * cm, topMargin=1.6 * cm, bottomMargin=1.6 * cm)


def _finish(filename: str, story: list, title: str, rows: int) -> ExportFile:
    buffer = io.BytesIO()
    _document(buffer, title).build(story)
    export = ExportFile(filename=filename, content_type="application/pdf", chunks=iter([buffer.getvalue()]))
    export.rows = rows
    return export


# --- a lab's results ------------------------------------------------------------------------------------------
def lab_results_pdf(unit: Unit, year: int) -> ExportFile:
    """The lab's results (validated modules only, product.md §5 decision 9), as on its results page."""
    from reportlab.platypus import Paragraph

    styles = _styles()
    results = unit_results(unit, year)
    title = _("Results of %(unit)s (%(cf)s), %(year)s") % {"unit": unit.name, "cf": unit.institutional_id,
                                                             "year": year}
    story = [Paragraph(_escape(title), styles["title"]),
             Paragraph(_escape(unit.path_name), styles["body"]),
             Paragraph(_escape(_("Validated modules: %(done)s of %(total)s. Only validated modules count.") % {
                 "done": results.validated_modules, "total": results.module_count}), styles["body"])]
    figures = [
        [_("Figure"), _("Value")],
        [_("Footprint (validated modules), kg CO2-eq"), fmt(results.total_kg) or "—"],
        [_("Footprint (validated modules)"), _t(results.total_kg)],
        [_("Compared to %(year)s") % {"year": results.previous_year},
         "—" if results.change_percent is None else f"{results.change_percent:+.1f} %"],
        [_("Per FTE"), "—" if results.t_per_fte is None else f"{results.t_per_fte:,.2f} t"],
        [_("Equivalent car km"), "—" if results.car_km is None else f"{results.car_km:,.0f} km"],
    ]
    story.append(_table(figures))
    story += _chart(charts.category_scope_chart(results), _("Emissions by category and scope"), styles)
    story += _chart(charts.module_chart(results), _("Emissions by module"), styles)
    story += _chart(charts.year_comparison_chart(results), _("Compared to the previous year"), styles)
    story.append(Paragraph(_escape(_("Categories")), styles["h2"]))
    story.append(_table([[_("Category"), _("kg CO2-eq")]] + [
        [_(c.label), fmt(c.kg) if c.validated else _("not validated")] for c in results.categories]))
    for missing in results.missing:
        story.append(Paragraph(_escape(missing.message), styles["small"]))
    return _finish(f"results_{unit.institutional_id}_{year}_{stamp()}.pdf", story, title, len(results.categories))


# --- a filtered back-office report ----------------------------------------------------------------------------
def _as_results(figures: Figures, year: int, validated: bool) -> UnitResults:
    """Aggregated figures in the shape the charts read (so the PDF draws the web pages' charts)."""
    categories = figures.validated_categories if validated else figures.categories
    modules_kg = figures.validated_module_kg if validated else figures.module_kg
    by_scope = {}
    if not validated:
        by_scope = {c: tuple(ScopeResult(s, figures.category_scopes[c, s]) for s in (1, 2, 3)
                             if figures.category_scopes.get((c, s))) for c in CATEGORIES}
    else:  # validated figures are kept by category only: one bar per category, drawn in its main scope
        for c in CATEGORIES:
            scopes = [s for s in (1, 2, 3) if figures.category_scopes.get((c, s))]
            by_scope[c] = (ScopeResult(scopes[0], categories[c]),) if scopes and categories[c] else ()
    total = sum(categories.values(), Decimal(0))
    return UnitResults(
        unit_institutional_id="", year=year, previous_year=year - 1, validated_modules=figures.validated_modules,
        module_count=figures.modules, total_kg=total, previous_total_kg=None, change_percent=None, fte=None,
        kg_per_fte=None, car_km=None, car_km_kg_co2eq_per_km=car_km_factor(), car_km_source="", scopes=[],
        categories=[CategoryResult(category=c, label=CATEGORY_LABELS[c], module=CATEGORY_MODULES[c], validated=True,
                                   kg=categories[c], by_scope=by_scope[c]) for c in CATEGORIES],
        modules=[ModuleResult(module=m, status=ModuleStatus.VALIDATED, enabled=True, kg=modules_kg.get(int(m)),
                              previous_kg=None, change_percent=None, car_km=None, t_per_fte=None)
                 for m in Module if modules_kg.get(int(m))],
        missing=[])


def _completion(figures: Figures) -> str:
    if figures.validated_modules == 0:
        return "not_started"
    return "validated" if figures.validated_modules == figures.modules else "in_progress"


def backoffice_pdf(filters: ReportFilters) -> ExportFile:
    from reportlab.platypus import PageBreak, Paragraph

    styles = _styles()
    units = filters.units()
    rolled = rolled_up_figures(years=filters.years, units=units)
    shown = list(filters.reports().order_by("year_id", "unit__path_name", "unit_id").values_list(
        "year_id", "unit_id", "unit__institutional_id", "unit__name", "unit__level"))
    aggregate = Figures()
    per_year: dict[int, Figures] = {}
    counts = {"validated": 0, "in_progress": 0, "not_started": 0}
    empty = Figures()
    for year, unit_id, _cf, _name, _level in shown:
        own = rolled.own.get((year, unit_id), empty)
        aggregate.add(own)  # own figures of each shown unit: Σ is never counted twice
        per_year.setdefault(year, Figures()).add(own)
        counts[_completion(own)] += 1
    title = _("Back-office report, %(years)s") % {"years": ", ".join(map(str, filters.years))}
    described = filters.describe()
    story = [Paragraph(_escape(title), styles["title"]),
             Paragraph(_escape(_("Filters: units %(units)s; completion %(completion)s; modules %(modules)s; "
                                 "search %(search)s. Generated %(when)s.") % {
                 "units": ", ".join(described["units"]) or _("all in scope"),
                 "completion": ", ".join(described["completion"]) or _("any"),
                 "modules": ", ".join(described["modules"]) or _("any"), "search": described["search"] or "—",
                 "when": timezone.now().strftime("%Y-%m-%d %H:%M UTC")}), styles["small"]),
             Paragraph(_escape(_("Completion")), styles["h2"]), _completion_bar(counts),
             _table([[_("Validated"), _("In progress"), _("Not started"), _("Units")],
                     [counts["validated"], counts["in_progress"], counts["not_started"], len(shown)]]),
             Paragraph(_escape(_("Totals")), styles["h2"]),
             _table([[_("Year"), _("Total, all data (kg CO2-eq)"), _("Total, validated modules (kg CO2-eq)"),
                      _("All data"), _("Validated")]]
                    + [[year, fmt(f.total), fmt(f.validated_total), _t(f.total), _t(f.validated_total)]
                       for year, f in sorted(per_year.items())]
                    + ([[_("All years"), fmt(aggregate.total), fmt(aggregate.validated_total),
                         _t(aggregate.total), _t(aggregate.validated_total)]] if len(per_year) > 1 else []))]
    year = filters.years[-1]
    story += _chart(charts.category_scope_chart(_as_results(aggregate, year, False), "pdf-all"),
                    _("By category and scope — all data (every module, whatever its status)"), styles)
    story += _chart(charts.category_scope_chart(_as_results(aggregate, year, True), "pdf-validated"),
                    _("By category — validated modules only"), styles)
    story += _chart(charts.module_chart(_as_results(aggregate, year, False), "pdf-modules-all"),
                    _("By module — all data"), styles)
    story += _chart(charts.module_chart(_as_results(aggregate, year, True), "pdf-modules-validated"),
                    _("By module — validated modules only"), styles)
    story += [PageBreak(), Paragraph(_escape(_("Units (a parent unit is the sum of its subtree)")), styles["h2"])]
    rows = [[_("Year"), _("Unit"), _("Level"), _("Validated modules"), _("Total, all data (kg CO2-eq)"),
             _("Total, validated (kg CO2-eq)")]]
    for year_, unit_id, cf, name, level in shown:
        t = rolled.subtree.get((year_, unit_id), empty)
        rows.append([year_, f"{name} ({cf})", level, f"{t.validated_modules}/{t.modules}", fmt(t.total),
                     fmt(t.validated_total)])
    from reportlab.lib.units import cm

    story.append(_table(rows, widths=[1.2 * cm, 5.6 * cm, 1.1 * cm, 2.3 * cm, 3.4 * cm, 3.4 * cm]))
    return _finish(f"report_{stamp()}.pdf", story, title, len(shown))


def report_pdf(filters: ReportFilters) -> ExportFile:
    """A lab's results PDF when the filters name exactly one lab and one year, else the back-office report."""
    if len(filters.unit_cfs) == 1 and len(filters.years) == 1:
        lab = filters.units().filter(institutional_id=filters.unit_cfs[0], level=4).first()
        if lab is not None:
            try:
                return lab_results_pdf(lab, filters.years[0])
            except CarbonReport.DoesNotExist:
                raise FilterError("unit", _("%(cf)s has no report in %(year)s") % {
                    "cf": lab.institutional_id, "year": filters.years[0]}) from None
    return backoffice_pdf(filters)
