"""The results page of a lab's year (lab/results_views.py, reporting/charts.py): the API's numbers, validated
modules only, what is missing, who may see it, the CSV, and the charts drawn offline to SVG.

Emission rows are inserted directly for most modules (the engines have their own tests), as in
tests/test_unit_results.py; the process-emissions module goes through the lab API (an entry created, the module
validated) so that one path is the real one end to end.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.template.defaultfilters import floatformat
from django.utils import translation

from carbon import taxonomy
from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.services import year_create
from carbon.taxonomy import EntryKind, Module
from modules.headcount.models import Member, Student
from reporting import charts
from reporting.results import unit_results
from tests.browser import log_of, page  # noqa: F401  (fixture)
from tests.factories import user_with_roles
from units.models import Provider

pytestmark = pytest.mark.django_db
CF = "13032"
PAGE = f"/labs/{CF}/2025/results/"
CSV_URL = f"/labs/{CF}/2025/results.csv"
API = f"/api/v1/units/{CF}/years/2025/results/"

FOOD, WASTE, COMMUTING = 10001, 20001, 30004
PLANE_ECO, TRAIN_2ND = 50203, 50102
EQUIPMENT_SCIENTIFIC = 80100
PURCHASE_SERVICES = 90600
ROOM_LIGHTING_OFFICE = taxonomy.room_leaf("lighting", "office")
NATURAL_GAS = 60201
EMBODIED = taxonomy.EMBODIED_ENERGY_LEAF
_entry_ids = iter(range(1, 10**9))


@pytest.fixture(autouse=True)
def car_km_setting(settings):
    settings.CAR_KM_KG_CO2EQ_PER_KM = Decimal("0.17")
    settings.CAR_KM_SOURCE = "=HYPERLINK(\"http://x\")"  # a formula: the CSV must neutralise it


def emit(unit, year: int, module: Module, rows: dict[int, str]) -> None:
    report = ModuleReport.objects.get(report__unit=unit, report__year_id=year, module=module)
    kind = EntryKind.of_module(module)[0]
    Emission.objects.bulk_create([
        Emission(module_report=report, unit=unit, year=year, module=module, kind=kind, entry_id=next(_entry_ids),
                 emission_type=leaf, scope=taxonomy.scope_of(leaf), kg_co2eq=Decimal(kg))
        for leaf, kg in rows.items()])


def set_status(unit, year: int, *modules: Module, status=ModuleStatus.VALIDATED) -> None:
    ModuleReport.objects.filter(report__unit=unit, report__year_id=year, module__in=modules).update(status=status)


@pytest.fixture
def lab(tree, open_year, principal, client):
    """IT4R in 2025: headcount, travel, buildings (both scopes and embodied energy), equipment validated by
    status; process emissions entered and validated through the API; purchases in progress (never counted).
    2024: headcount and travel validated."""
    unit = tree["it4r"]
    year_create(year=2024)
    emit(unit, 2025, Module.headcount, {FOOD: "2500.001", WASTE: "999.999", COMMUTING: "1500"})
    emit(unit, 2025, Module.professional_travel, {PLANE_ECO: "11000.123456", TRAIN_2ND: "999.876544"})
    emit(unit, 2025, Module.buildings, {ROOM_LIGHTING_OFFICE: "2000", NATURAL_GAS: "1200", EMBODIED: "345.5"})
    emit(unit, 2025, Module.equipment, {EQUIPMENT_SCIENTIFIC: "8500"})
    emit(unit, 2025, Module.purchase, {PURCHASE_SERVICES: "999999.5"})
    set_status(unit, 2025, Module.headcount, Module.professional_travel, Module.buildings, Module.equipment)
    set_status(unit, 2025, Module.purchase, status=ModuleStatus.IN_PROGRESS)
    headcount = ModuleReport.objects.get(report__unit=unit, report__year_id=2025, module=Module.headcount)
    for i, fte in enumerate(("1.0", "0.5")):
        Member.objects.create(module_report=headcount, name=f"M{i}", sius_code=51, user_institutional_id=str(900 + i),
                              fte=Decimal(fte))
    Student.objects.create(module_report=headcount, fte=Decimal("8.5"))  # 10 FTE in all
    emit(unit, 2024, Module.headcount, {FOOD: "6000"})
    emit(unit, 2024, Module.professional_travel, {PLANE_ECO: "9000"})
    set_status(unit, 2024, Module.headcount, Module.professional_travel)
    # Another lab's validated rows never reach IT4R's page.
    emit(tree["sti_lab"], 2025, Module.equipment, {EQUIPMENT_SCIENTIFIC: "123456"})
    set_status(tree["sti_lab"], 2025, Module.equipment)

    client.force_login(principal)
    created = client.post(f"/api/v1/units/{CF}/years/2025/entries/process_emission/",
                          {"category": "CH4", "quantity": 2.5}, content_type="application/json")
    assert created.status_code == 201, created.json()  # 70 kg
    validated = client.post(f"/api/v1/units/{CF}/years/2025/modules/process_emissions/validation/")
    assert validated.status_code == 200, validated.json()
    return unit


# --- reading the page ------------------------------------------------------------------------------------
class _Tables(HTMLParser):
    """The text of every cell of every table, by table id: {id: [[cell, ...], ...]}."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def rows_by_label(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def fmt(value, arg: str) -> str:
    """The figure as the page writes it (Django's floatformat, the active locale), from the API's string."""
    return floatformat(value, arg)


def big_number(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</p>', html, re.S)
    assert match, element_id
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


# --- the page shows the API's numbers ----------------------------------------------------------------------
def test_the_page_shows_the_numbers_of_the_api(client, lab):
    api = client.get(API).json()
    assert api["total_kg"] == "29115.500"  # 5000 + 12000 + 3545.5 + 8500 + 70 (process, through the API)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert response.templates[0].name == "lab/results.html"
    html = response.content.decode()

    assert big_number(html, "total-value") == f"{fmt(api['total_t'], '1g')} t CO₂-eq" == "29.1 t CO₂-eq"
    assert big_number(html, "car-km-value") == f"{fmt(api['car_km'], '0g')} km" == "171,268 km"
    assert big_number(html, "change-value") == f"▲ +{fmt(api['change_percent'], '1g')} %" == "▲ +94.1 %"
    assert big_number(html, "per-fte-value") == f"{fmt(api['t_per_fte'], '2g')} t CO₂-eq per FTE" == (
        "2.91 t CO₂-eq per FTE")  # 29.1155 t / 10 FTE
    assert "Over 10 FTE" in html
    assert "0.17 kg CO₂-eq per km" in html and "HYPERLINK" in html  # the factor and its source

    by_table = tables(html)
    modules = rows_by_label(by_table["modules-table"])
    for row in api["modules"]:
        label = row["label"]
        if row["validated"]:
            assert modules[label][1] == fmt(row["t"], "2g"), label
            assert modules[label][4] == fmt(row["car_km"], "0g"), label
        else:
            assert modules[label][1] == "Not in the results until validated.", label
    categories = rows_by_label(by_table["categories-table"])
    for row in api["categories"]:
        label = charts.category_label(row["category"])
        if row["validated"]:
            assert categories[label][3] == fmt(row["t"], "2g"), label
        else:
            assert categories[label][0].startswith("Not validated: validate"), label
    assert categories["Buildings (rooms and combustion)"][:4] == ["1.20", "2.00", "–none", "3.20"]
    assert categories["Total"][:4] == [fmt(s["t"], "2g") for s in api["scopes"]] + [fmt(api["total_t"], "2g")]
    scopes = rows_by_label(by_table["scopes-table"])
    assert [scopes[f"Scope {s['scope']}"][1] for s in api["scopes"]] == [fmt(s["t"], "2g") for s in api["scopes"]]

    years = rows_by_label(by_table["years-table"])
    assert years["Headcount"] == ["6.00", "5.00", "-16.7 %"]  # (5000 − 6000) / 6000
    assert years["Professional travel"][:2] == ["9.00", "12.00"]
    assert years["Buildings"][:2] == ["not validated", "3.55"]
    assert years["Total"][:2] == [fmt(api["previous_total_t"], "2g"), fmt(api["total_t"], "2g")]


def test_the_three_charts_are_inline_svg_with_a_name_a_text_alternative_and_no_script(client, lab):
    html = client.get(PAGE).content.decode()
    for chart in ("chart-categories", "chart-modules", "chart-years"):
        figure = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', html, re.S)
        assert figure, chart
        body = figure.group(1)
        assert "<figcaption>" in body
        assert re.search(rf'<svg role="img" aria-label="[^"]+" aria-describedby="{chart}-text"', body)
        text = re.search(rf'<p class="chart-text" id="{chart}-text">(.*?)</p>', body, re.S).group(1)
        assert "t" in text and len(text) > 40
    assert "Professional travel: 12.0 t" in html  # the text alternative of the category chart
    assert "<script" not in html  # nothing for the CSP to allow: the pictures are drawn on the server
    assert 'style="' not in html.split("<main", 1)[1]


def test_unvalidated_modules_are_listed_as_missing_and_not_counted(client, lab):
    response = client.get(PAGE)
    html = response.content.decode()
    missing = re.search(r'<section class="results-missing".*?</section>', html, re.S).group(0)
    purchase_url = f"/labs/{CF}/2025/purchase/"
    assert f'<a href="{purchase_url}">Validate Purchases to see its results.</a>' in missing
    assert "In progress" in missing
    for module in ("Research facilities", "External cloud and AI"):
        assert f"Validate {module} to see its results." in missing
    for validated in ("Headcount", "Professional travel", "Buildings", "Equipment", "Process emissions"):
        assert f"Validate {validated} to see" not in missing
    assert client.get(API).json()["total_kg"] == "29115.500"  # purchases' 999,999.5 kg not in it
    assert rows_by_label(tables(html)["categories-table"])["Purchases"] == [
        "Not validated: validate Purchases to see it."]
    assert "Only validated modules count: 5 of 8 modules are validated." in html


def test_a_lab_with_nothing_validated_says_so_without_charts(client, tree, principal):
    client.force_login(principal)
    html = client.get(PAGE).content.decode()
    assert "No module is validated yet" in html
    assert "<svg" not in html and "<figure" not in html
    assert "Validate Headcount to see its results." in html


def test_who_may_see_the_results(client, lab, tree):
    standard = user_with_roles(f"calco2.user.standard@own:{CF}", institutional_id="200001")
    metier = user_with_roles("calco2.backoffice.metier@affiliation:13030")
    outsider = user_with_roles("calco2.user.principal@unit:14011")
    for user, status in ((standard, 200), (metier, 200), (outsider, 404)):
        client.force_login(user)
        assert client.get(PAGE).status_code == status, user
        assert client.get(CSV_URL).status_code == status, user
    client.force_login(outsider)
    assert client.get("/labs/14011/2025/results/").status_code == 200  # their own lab
    client.force_login(standard)
    assert client.get(f"/labs/{CF}/2024/results/").status_code == 404  # a year not opened to labs
    client.logout()
    assert client.get(PAGE).status_code == 302  # to the login page


def test_a_standard_user_sees_links_only_to_the_modules_they_enter(client, lab):
    standard = user_with_roles(f"calco2.user.standard@own:{CF}", institutional_id="200001")
    client.force_login(standard)
    html = client.get(PAGE).content.decode()
    assert "Validate Purchases to see its results." in html
    assert f'href="/labs/{CF}/2025/purchase/"' not in html  # a page they cannot open is not linked


def test_the_page_in_french_formats_its_numbers_the_french_way(client, lab):
    client.cookies["django_language"] = "fr"
    html = client.get(PAGE).content.decode()
    assert '<html lang="fr">' in html
    assert big_number(html, "total-value").startswith("29,1 ")
    assert big_number(html, "car-km-value") == "171 268 km"  # a (narrow) no-break space groups the thousands
    assert ">12,0<" in html  # in the pictures too


# --- the CSV -----------------------------------------------------------------------------------------------
def test_the_csv_has_the_apis_numbers_with_a_bom_and_no_formula(client, lab):
    api = client.get(API).json()
    response = client.get(CSV_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="results-{CF}-2025.csv"'
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    total = rows[0]
    assert (total["section"], total["unit_institutional_id"], total["year"]) == ("total", CF, "2025")
    assert total["kg_co2eq"] == api["total_kg"] and total["t_co2eq"] == api["total_t"]
    assert total["previous_kg_co2eq"] == api["previous_total_kg"] and total["change_percent"] == api["change_percent"]
    assert total["car_km"] == api["car_km"] and total["car_km_kg_co2eq_per_km"] == "0.1700"
    assert total["car_km_source"].startswith("'=HYPERLINK")  # neutralised
    modules = {row["item"]: row for row in rows if row["section"] == "module"}
    assert {name: row["kg_co2eq"] for name, row in modules.items()} == {
        row["module"]: row["kg"] or "" for row in api["modules"]}
    assert modules["purchase"]["status"] == "in_progress" and modules["purchase"]["kg_co2eq"] == ""
    scopes = [row["kg_co2eq"] for row in rows if row["section"] == "scope"]
    assert scopes == [s["kg"] for s in api["scopes"]]
    split = {(row["item"], row["scope"]): row["kg_co2eq"] for row in rows if row["section"] == "category_scope"}
    assert split[("buildings", "1")] == "1200.000" and split[("buildings", "2")] == "2000.000"
    categories = {row["item"]: row["kg_co2eq"] for row in rows if row["section"] == "category"}
    assert categories == {row["category"]: row["kg"] or "" for row in api["categories"]}


# --- the charts, drawn offline ------------------------------------------------------------------------------
def test_each_chart_renders_to_svg_with_its_labels(lab):
    results = unit_results(lab, 2025)
    with translation.override("en"):
        categories = charts.render_svg(charts.category_scope_chart(results))
        modules = charts.render_svg(charts.module_chart(results))
        years = charts.render_svg(charts.year_comparison_chart(results))
    assert categories.startswith("<svg") and categories.rstrip().endswith("</svg>")
    for text in ("Professional travel", "Buildings (rooms and combustion)", "Food", "Scope 1", "Scope 2",
                 "Scope 3", "t CO₂-eq", "12.0"):
        assert f">{text}<" in categories, text
    assert "Purchases" not in categories  # not validated
    for pattern in ("solid-vermillion", "stripes-blue", "dots-green"):  # scopes by pattern, not colour alone
        assert f'<pattern id="chart-categories--{pattern}"' in categories
        assert f'fill="url(#chart-categories--{pattern})"' in categories
    for text in ("Equipment", "Professional travel", "Headcount", "Buildings", "Process emissions", "8.5", "0.1"):
        assert f">{text}<" in modules, text
    assert "Purchases" not in modules
    for text in ("2024", "2025", "Headcount", "not validated", "6.0", "5.0", "12.0", "9.0"):
        assert f">{text}<" in years, text
    assert '<pattern id="chart-years--hatch-blue-light"' in years


def test_the_charts_follow_the_language_and_need_no_data_to_be_skipped(lab, tree):
    results = unit_results(lab, 2025)
    with translation.override("fr"):
        svg = charts.render_svg(charts.module_chart(results))
    assert ">12,0<" in svg and ">8,5<" in svg  # French decimal mark in the direct labels
    empty = unit_results(tree["sti_inst"], 2025)
    assert charts.category_scope_chart(empty) is None
    assert charts.module_chart(empty) is None
    assert charts.year_comparison_chart(empty) is None


def test_render_svg_never_fetches_a_url(lab):
    spec = {"data": {"url": "http://127.0.0.1:9/data.csv"}, "mark": "bar",
            "encoding": {"x": {"field": "a", "type": "nominal"}}}
    with pytest.raises(Exception, match="(?i)url|allowed|access"):
        charts.render_svg(spec)


def test_a_chart_that_cannot_be_drawn_costs_the_picture_not_the_page(client, lab, monkeypatch, caplog):
    def broken(spec, language=None):
        raise RuntimeError("no renderer")

    monkeypatch.setattr(charts, "render_svg", broken)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" not in html and html.count("The chart could not be drawn; the table below has its data.") == 3
    assert "modules-table" in html and "could not be drawn" in caplog.text


# --- in a browser --------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_in_chromium_under_the_csp_and_with_the_keyboard(page, live_server, lab, settings):  # noqa: F811
    """The charts show (inline SVG, no script), nothing is refused by the CSP, and Tab reaches the CSV link and
    the "validate X" links."""
    settings.DEMO_MODE = True
    user_with_roles(f"calco2.user.principal@unit:{CF}", institutional_id="results-principal",
                    provider=Provider.DEMO)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "results-principal")
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    response = page.goto(f"{live_server.url}{PAGE}")
    assert response.status == 200 and "content-security-policy" in response.headers
    for chart in ("chart-categories", "chart-modules", "chart-years"):
        box = page.locator(f"#{chart} svg[role=img]").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 80, chart
    page.evaluate("1")
    assert not log_of(page).problems()
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Download the results (CSV)" in focused
    assert "Validate Purchases to see its results." in focused
