"""The pictures of a unit's results: Vega-Lite specs (plain dicts) built from `UnitResults`, drawn to SVG on
the server by vl-convert (Vega and Vega-Lite in an embedded JavaScript runtime: no browser, no network).

Three charts: emissions by category stacked by scope, per module, and this year against the previous year
per module. The lab results page inlines the SVG; the back-office PDF can embed the same SVG (or turn it into
a PNG with `vl_convert.svg_to_png`), so both show one picture from one spec.

Readable without colour: the palette is Okabe–Ito (safe for the common colour-vision deficiencies), every
bar has a dark outline (3:1 against the page whatever its fill), series are told apart by a fill pattern as
well as by colour (solid, stripes, dots: SVG `<pattern>`s that `render_svg` adds to the picture) and every
bar carries its value as a direct label. The picture is not the only carrier either: the page shows its data
as a table and a text summary next to it.

Text in the pictures (labels, axis titles, numbers) follows the active language: build and render the spec
inside the request's language.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils import formats
from django.utils.translation import get_language, gettext, gettext_noop

from carbon.taxonomy import CATEGORY_LABELS
from reporting.results import UnitResults

__all__ = ["INK", "OKABE_ITO", "category_label", "category_scope_chart", "module_chart", "render_svg",
           "scope_label", "year_comparison_chart"]

VEGA_LITE_VERSION = "6.4"  # one of vl_convert.get_vegalite_versions(); the $schema below says the same
_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

# Okabe & Ito (2008), "Color Universal Design". Only the hues with at least 3:1 against white are used for
# fills; orange, sky blue and yellow are too light for a bar on a white page.
OKABE_ITO = {"orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000"}
INK = "#1d2a33"  # text and outlines: the page's text colour (static/css/lab.css --fg)
# vl-convert measures text with the Liberation Sans it bundles, and the layout (label room) is fixed in the SVG;
# a browser draws the text with the first of these it has: Arimo and Arial have the same metrics, Helvetica
# nearly, so the labels fit as measured.
_FONT = "Liberation Sans, Arimo, Arial, Helvetica, sans-serif"

# Fill patterns, by name: each chart refers to one as `url(#<chart id>--<name>)` and `render_svg` puts its
# definition (with that id) into the picture, so the SVG stands alone (the page, the PDF) and two charts on one
# page never share an id.
_PATTERNS = {
    "solid-vermillion": ('<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse">'
                         f'<rect width="8" height="8" fill="{OKABE_ITO["vermillion"]}"/></pattern>'),
    "stripes-blue": ('<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse" '
                     'patternTransform="rotate(45)">'
                     f'<rect width="8" height="8" fill="{OKABE_ITO["blue"]}"/>'
                     '<rect width="3" height="8" fill="#ffffff"/></pattern>'),
    "dots-green": ('<pattern id="{id}" width="7" height="7" patternUnits="userSpaceOnUse">'
                   f'<rect width="7" height="7" fill="{OKABE_ITO["bluish_green"]}"/>'
                   '<circle cx="3.5" cy="3.5" r="1.6" fill="#ffffff"/></pattern>'),
    "solid-blue": ('<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse">'
                   f'<rect width="8" height="8" fill="{OKABE_ITO["blue"]}"/></pattern>'),
    # A lighter "ghost" of solid-blue for the previous year: blue stripes on white, the other way round.
    "hatch-blue-light": ('<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse" '
                         'patternTransform="rotate(-45)"><rect width="8" height="8" fill="#ffffff"/>'
                         f'<rect width="3" height="8" fill="{OKABE_ITO["blue"]}"/></pattern>'),
}
_PATTERN_REF = re.compile(r"url\(#([A-Za-z][\w-]*?--(?:" + "|".join(map(re.escape, _PATTERNS)) + r"))\)")
SCOPE_PATTERNS = {1: "solid-vermillion", 2: "stripes-blue", 3: "dots-green"}

# The category labels (carbon.taxonomy keeps English names, free of Django), listed for makemessages.
_CATALOGUE = [
    gettext_noop("Process emissions"), gettext_noop("Buildings (rooms and combustion)"), gettext_noop("Equipment"),
    gettext_noop("External cloud and AI"), gettext_noop("Professional travel"), gettext_noop("Purchases"),
    gettext_noop("Research facilities"), gettext_noop("Commuting"), gettext_noop("Food"), gettext_noop("Waste"),
    gettext_noop("Construction and renovation (embodied energy)"),
]

_MILLI = Decimal("0.001")


def category_label(category: str) -> str:
    """A results category's name in the active language."""
    return gettext(CATEGORY_LABELS[category])


def scope_label(scope: int) -> str:
    return gettext("Scope %(scope)d") % {"scope": scope}


def _t(value: Decimal) -> float:
    """Tonnes for the picture, to the kg (the API's precision), as a JSON number."""
    return float(value.quantize(_MILLI, rounding=ROUND_HALF_UP))


def label_decimals(largest_t: Decimal | float) -> int:
    """Decimals of the tonnes in direct labels: enough to tell a small bar from zero, no more."""
    largest = abs(Decimal(str(largest_t)))
    return 1 if largest >= 10 else 2 if largest >= 1 else 3


def format_t(value: Decimal | float, decimals: int) -> str:
    """A number of tonnes in the active locale (grouping and decimal mark), as the page's tables show it."""
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)  # Django truncates
    return formats.number_format(exact, decimals, use_l10n=True, force_grouping=True)


def _base(description: str, width: int = 560) -> dict:
    return {
        "$schema": _SCHEMA,
        "description": description,
        "width": width,
        "background": "#ffffff",
        # Slack on the left: a browser without a font metric-compatible with Liberation Sans draws the labels
        # a little wider than they were measured.
        "padding": {"left": 24, "right": 16, "top": 8, "bottom": 4},
        "config": {
            # The page gives the picture its name (role="img", aria-label) and its data as a table; Vega's own
            # English ARIA descriptions of every mark would only add noise.
            "aria": False,
            "mark": {"aria": False},  # else each mark group keeps an unnamed role="graphics-symbol" (axe)
            "font": _FONT,
            "axis": {"labelColor": INK, "titleColor": INK, "domainColor": INK, "tickColor": INK,
                     "labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
            "legend": {"labelColor": INK, "titleColor": INK, "labelFontSize": 12, "symbolType": "square",
                       "symbolSize": 260, "symbolStrokeColor": INK, "symbolStrokeWidth": 1},
            "view": {"stroke": None},
        },
    }


def _tonnes_axis() -> dict:
    return {"title": gettext("t CO₂-eq"), "grid": True, "gridColor": "#dde3e0", "tickCount": 6}


def _value_labels(x_field: str, label_field: str) -> dict:
    """A text layer: each bar's value written just past its end."""
    return {
        "mark": {"type": "text", "align": "left", "baseline": "middle", "dx": 4, "fontSize": 12, "color": INK},
        "encoding": {"x": {"field": x_field, "type": "quantitative"}, "text": {"field": label_field}},
    }


def category_scope_chart(results: UnitResults, chart_id: str = "chart-categories") -> dict | None:
    """Horizontal bars, one per validated category, stacked by scope (colour and pattern), total at the end.

    None when no category has emissions (nothing validated, or validated with no rows).
    """
    rows, totals = [], {}
    for category in results.categories:
        parts = [part for part in category.by_scope if part.kg and part.kg > 0]
        if not category.validated or not parts:
            continue
        name = category_label(category.category)
        totals[name] = category.t
        rows += [{"category": name, "scope": scope_label(part.scope), "scope_order": part.scope, "t": _t(part.t)}
                 for part in parts]
    if not rows:
        return None
    decimals = label_decimals(max(totals.values()))
    order = sorted(totals, key=lambda name: -totals[name])
    totals_rows = [{"category": name, "total": _t(totals[name]), "label": format_t(totals[name], decimals)}
                   for name in order]
    scopes = [scope_label(scope) for scope in (1, 2, 3)]
    spec = _base(gettext("Emissions of each category in tonnes of CO₂-eq, stacked by scope."))
    spec.update({
        "height": {"step": 30},
        "encoding": {"y": {"field": "category", "type": "nominal", "sort": order, "title": None,
                           "axis": {"labelLimit": 300, "ticks": False, "domain": False}}},
        "layer": [
            {"data": {"values": rows},
             "mark": {"type": "bar", "stroke": INK, "strokeWidth": 1},
             "encoding": {
                 "x": {"field": "t", "type": "quantitative", "stack": "zero", "axis": _tonnes_axis()},
                 "fill": {"field": "scope", "type": "nominal", "title": None,
                          "scale": {"domain": scopes,
                                    "range": [f"url(#{chart_id}--{SCOPE_PATTERNS[s]})" for s in (1, 2, 3)]},
                          "legend": {"orient": "bottom", "direction": "horizontal"}},
                 "order": {"field": "scope_order", "type": "quantitative"},
             }},
            {"data": {"values": totals_rows}, **_value_labels("total", "label")},
        ],
    })
    return spec


def module_chart(results: UnitResults, chart_id: str = "chart-modules") -> dict | None:
    """Horizontal bars, one per validated module, largest first, each with its value. None when none."""
    modules = [m for m in results.modules if m.validated and m.kg is not None]
    if not modules:
        return None
    decimals = label_decimals(max(m.t for m in modules))
    modules.sort(key=lambda m: -m.kg)
    rows = [{"module": gettext(m.module.label), "t": _t(m.t), "label": format_t(m.t, decimals)} for m in modules]
    spec = _base(gettext("Emissions of each validated module in tonnes of CO₂-eq."))
    spec.update({
        "height": {"step": 30},
        "data": {"values": rows},
        "encoding": {"y": {"field": "module", "type": "nominal", "sort": None, "title": None,
                           "axis": {"labelLimit": 300, "ticks": False, "domain": False}}},
        "layer": [
            {"mark": {"type": "bar", "stroke": INK, "strokeWidth": 1, "fill": f"url(#{chart_id}--solid-blue)"},
             "encoding": {"x": {"field": "t", "type": "quantitative", "axis": _tonnes_axis()}}},
            _value_labels("t", "label"),
        ],
    })
    return spec


def year_comparison_chart(results: UnitResults, chart_id: str = "chart-years") -> dict | None:
    """Per module, two bars: the previous year (light hatching) above this year (solid), each with its value
    or "not validated". None when the previous year has no validated module."""
    if results.previous_total_kg is None:
        return None
    modules = [m for m in results.modules if m.kg is not None or m.previous_kg is not None]
    if not modules:  # pragma: no cover - a previous total implies a module validated then
        return None
    decimals = label_decimals(max(max(m.t or 0, m.previous_t or 0) for m in modules))
    current, previous = str(results.year), str(results.previous_year)
    missing = gettext("not validated")
    rows = []
    for m in modules:
        name = gettext(m.module.label)
        for year, t in ((previous, m.previous_t), (current, m.t)):
            rows.append({"module": name, "year": year, "t": _t(t) if t is not None else 0,
                         "label": format_t(t, decimals) if t is not None else missing})
    spec = _base(gettext("Emissions of each module in tonnes of CO₂-eq, %(previous)s and %(current)s.")
                 % {"previous": previous, "current": current})
    spec.update({
        "height": {"step": 24},
        "data": {"values": rows},
        "encoding": {
            "y": {"field": "module", "type": "nominal", "sort": None, "title": None,
                  "axis": {"labelLimit": 300, "ticks": False, "domain": False}},
            "yOffset": {"field": "year", "type": "nominal", "sort": [previous, current]},
        },
        "layer": [
            {"mark": {"type": "bar", "stroke": INK, "strokeWidth": 1},
             "encoding": {
                 "x": {"field": "t", "type": "quantitative", "axis": _tonnes_axis()},
                 "fill": {"field": "year", "type": "nominal", "title": None,
                          "scale": {"domain": [previous, current],
                                    "range": [f"url(#{chart_id}--hatch-blue-light)",
                                              f"url(#{chart_id}--solid-blue)"]},
                          "legend": {"orient": "bottom", "direction": "horizontal"}},
             }},
            {**_value_labels("t", "label"),
             "encoding": {"x": {"field": "t", "type": "quantitative"}, "text": {"field": "label"},
                          "yOffset": {"field": "year", "type": "nominal", "sort": [previous, current]}}},
        ],
    })
    return spec


# --- rendering -------------------------------------------------------------------------------------------
# d3-format locales by language (vl_convert.get_format_locale lists them): the axis numbers in the picture
# follow the page's language, as the direct labels (formatted by Django) do.
_FORMAT_LOCALES = {"en": "en-US", "fr": "fr-FR", "de": "de-CH", "it": "it-IT"}


def render_svg(spec: dict, language: str | None = None) -> str:
    """The chart as a standalone SVG document (a string starting with `<svg`), drawn offline by vl-convert.

    `language` (default: the active one) picks the number format of the axes. Fill patterns the spec refers to
    are defined inside the picture. Same spec, same language → the same SVG, cached in the process (the first
    picture of a process starts the JavaScript runtime: about a second; the next ones take tens of ms).
    """
    language = (language or get_language() or "en").split("-")[0]
    return _render(json.dumps(spec, sort_keys=True), _FORMAT_LOCALES.get(language, "en-US"))


@lru_cache(maxsize=128)
def _render(spec_json: str, format_locale: str) -> str:
    import vl_convert  # a compiled extension: imported on first use, not by every process that imports reporting

    svg = vl_convert.vegalite_to_svg(spec_json, vl_version=VEGA_LITE_VERSION, format_locale=format_locale,
                                     allowed_base_urls=[])  # data is inline: never fetch a URL
    return _with_patterns(svg)


def _with_patterns(svg: str) -> str:
    ids = dict.fromkeys(_PATTERN_REF.findall(svg))  # each referenced pattern once, in order
    if not ids:
        return svg
    defs = "<defs>" + "".join(_PATTERNS[pid.rsplit("--", 1)[1]].format(id=pid) for pid in ids) + "</defs>"
    end = svg.index(">", svg.index("<svg")) + 1
    return svg[:end] + defs + svg[end:]


# --- campaign progress (back office): validations over time, footprint against the objectives --------------
def validation_timeline_chart(per_day: list, chart_id: str = "chart-validations") -> dict | None:
    """Vertical bars, one per day with module validations, each with its count; None when there is none.

    `per_day`: (date, count) oldest first (`reporting.progress.validations_per_day`)."""
    if not per_day:
        return None
    total = 0
    rows = []
    for day, count in per_day:
        total += count
        rows.append({"day": day.isoformat(), "count": count, "label": str(count), "cumulative": total})
    spec = _base(gettext("Module validations per day."), width=max(240, min(720, 40 * len(rows))))
    spec.update({
        "height": 200,
        "data": {"values": rows},
        "encoding": {"x": {"field": "day", "type": "ordinal", "title": gettext("day"),
                           "axis": {"labelAngle": -45}}},
        "layer": [
            {"mark": {"type": "bar", "stroke": INK, "strokeWidth": 1, "fill": f"url(#{chart_id}--solid-blue)"},
             "encoding": {"y": {"field": "count", "type": "quantitative", "title": gettext("validations"),
                                "axis": {"tickMinStep": 1, "grid": True, "gridColor": "#dde3e0"}}}},
            {"mark": {"type": "text", "baseline": "bottom", "dy": -3, "fontSize": 12, "color": INK},
             "encoding": {"y": {"field": "count", "type": "quantitative"}, "text": {"field": "label"}}},
        ],
    })
    return spec


def trajectory_chart(footprints: list, objectives: list, chart_id: str = "chart-trajectory") -> dict | None:
    """The footprint by year (all data, validated only) and each reduction objective's target, in tonnes.

    Lines told apart by dash and point shape as well as colour; the objective is a dashed line from its
    reference year's footprint to its target. `footprints`: `YearFootprint`s; `objectives`: `ObjectivePoint`s.
    None when no year has emissions.
    """
    if not footprints:
        return None
    all_name, validated_name = gettext("All data"), gettext("Validated modules only")
    rows = []
    for fp in footprints:
        rows.append({"year": str(fp.year), "series": all_name, "t": _t(fp.all_kg / 1000)})
        rows.append({"year": str(fp.year), "series": validated_name, "t": _t(fp.validated_kg / 1000)})
    series = [all_name, validated_name]
    for point in objectives:
        if point.target_kg is None:
            continue
        name = gettext("Objective: −%(percent)s %% by %(target)s against %(reference)s") % {
            "percent": format_t(point.objective.reduction_percentage * 100, 0),
            "target": point.objective.target_year, "reference": point.objective.reference_year}
        series.append(name)
        rows.append({"year": str(point.objective.reference_year), "series": name, "t": _t(point.reference_kg / 1000),
                     "start": True})
        rows.append({"year": str(point.objective.target_year), "series": name, "t": _t(point.target_kg / 1000)})
    years = sorted({row["year"] for row in rows})
    largest = max(row["t"] for row in rows)
    decimals = label_decimals(largest)
    for row in rows:  # the objective's starting point is the footprint itself: its value once is enough
        row["label"] = "" if row.get("start") else format_t(row["t"], decimals)
    palette = [OKABE_ITO["blue"], OKABE_ITO["bluish_green"], OKABE_ITO["vermillion"], OKABE_ITO["reddish_purple"],
               OKABE_ITO["black"]]
    dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [1, 3]]
    shapes = ["circle", "square", "triangle-up", "diamond", "cross"]
    count = len(series)
    scale = {"domain": series}
    spec = _base(gettext("Footprint by year in tonnes of CO₂-eq, all data and validated modules, against the "
                         "reduction objectives."), width=max(320, min(720, 90 * len(years))))
    spec.update({
        "height": 260,
        "data": {"values": rows},
        "encoding": {
            "x": {"field": "year", "type": "ordinal", "sort": years, "title": gettext("year"),
                  "axis": {"labelAngle": 0}},
            "y": {"field": "t", "type": "quantitative", "axis": _tonnes_axis()},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {**scale, "range": [palette[i % len(palette)] for i in range(count)]},
                      "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 500}},
            "strokeDash": {"field": "series", "type": "nominal", "legend": None,
                           "scale": {**scale, "range": [dashes[i % len(dashes)] for i in range(count)]}},
            "shape": {"field": "series", "type": "nominal", "legend": None,
                      "scale": {**scale, "range": [shapes[i % len(shapes)] for i in range(count)]}},
        },
        "layer": [
            {"mark": {"type": "line", "strokeWidth": 2, "point": {"size": 70, "filled": True}}},
            {"mark": {"type": "text", "align": "left", "dx": 6, "dy": -8, "fontSize": 11, "color": INK},
             "encoding": {"text": {"field": "label"}, "color": {"value": INK}}},
        ],
    })
    return spec


def render_png(spec: dict, language: str | None = None, scale: float = 2.0) -> bytes:
    """The chart as a PNG (for the PDF exports): the very SVG of `render_svg`, patterns included, rasterised by
    vl-convert at `scale` × its size."""
    import vl_convert

    return vl_convert.svg_to_png(render_svg(spec, language), scale=scale)


# --- the back-office reporting page: aggregated footprint, all data against validated modules only ----------
def paired_bars_chart(rows: list[tuple[str, Decimal, Decimal]], description: str,
                      chart_id: str = "chart-report") -> dict | None:
    """Per label, two horizontal bars in tonnes: all data (light hatching) above validated modules only (solid),
    each with its value; the legend names both series. `rows`: (label, all kg, validated kg), in display order.
    None when every value is zero (nothing to draw; the page's table says so)."""
    rows = [(label, all_kg, validated_kg) for label, all_kg, validated_kg in rows if all_kg or validated_kg]
    if not rows:
        return None
    all_name, validated_name = gettext("All data"), gettext("Validated modules only")
    decimals = label_decimals(max(max(a, v) for _label, a, v in rows) / 1000)
    values = []
    for label, all_kg, validated_kg in rows:
        for series, kg in ((all_name, all_kg), (validated_name, validated_kg)):
            values.append({"label": label, "series": series, "t": _t(kg / 1000), "text": format_t(kg / 1000, decimals)})
    series = [all_name, validated_name]
    spec = _base(description)
    spec.update({
        "height": {"step": 22},
        "data": {"values": values},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": None, "title": None,
                  "axis": {"labelLimit": 300, "ticks": False, "domain": False}},
            "yOffset": {"field": "series", "type": "nominal", "sort": series},
        },
        "layer": [
            {"mark": {"type": "bar", "stroke": INK, "strokeWidth": 1},
             "encoding": {
                 "x": {"field": "t", "type": "quantitative", "axis": _tonnes_axis()},
                 "fill": {"field": "series", "type": "nominal", "title": None,
                          "scale": {"domain": series, "range": [f"url(#{chart_id}--hatch-blue-light)",
                                                                f"url(#{chart_id}--solid-blue)"]},
                          "legend": {"orient": "bottom", "direction": "horizontal", "labelLimit": 400}},
             }},
            {**_value_labels("t", "text"),
             "encoding": {"x": {"field": "t", "type": "quantitative"}, "text": {"field": "text"},
                          "yOffset": {"field": "series", "type": "nominal", "sort": series}}},
        ],
    })
    return spec
