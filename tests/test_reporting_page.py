"""The back-office reporting page (`/admin/reporting/report/`) on the demo: the roll-up's totals pinned with literal
numbers (a faculty is the sum of its labs, the institution the sum of its faculties, and the page says what the
results export says), the filter clamp over roles × scopes (asserted on the body), sorting, page sizes, bad
parameters (400 with the reason), and the charts (SVG named, with their tables).

Demo 2025: EPFL 416419.472497 kg = ENAC 168834.667033 + STI 108823.201792 + SB 138761.603672 (all data);
25881.798575 kg in validated modules, all of them ENAC's (IT4R, LCBM, APRL).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from carbon.services import year_create
from tests.factories import user_with_roles

pytestmark = pytest.mark.usefixtures("demo")

ADMIN = "calco2.backoffice.admin@global"
METIER_ENAC = "calco2.backoffice.metier@affiliation:13030"
FACULTIES = {"13030": Decimal("168834.667033"), "14000": Decimal("108823.201792"), "14500": Decimal("138761.603672")}
EPFL_TOTAL = Decimal("416419.472497")
VALIDATED_TOTAL = Decimal("25881.798575")
ENAC_UNITS = {"13030", "13100", "13110", "13120", "13032", "13033", "13034", "13035", "13036"}
STI_UNITS = {"14000", "14010", "14020", "14011", "14012", "14021", "14022"}
SB_UNITS = {"14500", "14510", "14520", "14511", "14512", "14521", "14522"}
ALL_UNITS = {"10000"} | ENAC_UNITS | STI_UNITS | SB_UNITS
LABS_OF = {"13030": {"13032", "13033", "13034", "13035", "13036"}, "14000": {"14011", "14012", "14021", "14022"},
           "14500": {"14511", "14512", "14521", "14522"}}

# role claims → the units the page lists for 2025 (None: 403)
ROLE_CASES = {
    "admin@global": ([ADMIN], ALL_UNITS),
    "metier@affiliation:EPFL": (["calco2.backoffice.metier@affiliation:10000"], ALL_UNITS),
    "metier@affiliation:ENAC": ([METIER_ENAC], ENAC_UNITS),
    "metier@affiliation:STI": (["calco2.backoffice.metier@affiliation:14000"], STI_UNITS),
    "metier@affiliation:ENAC+STI": ([METIER_ENAC, "calco2.backoffice.metier@affiliation:14000"],
                                    ENAC_UNITS | STI_UNITS),
    "auditor@global": (["calco2.auditor@global"], None),
    "principal@unit:IT4R": (["calco2.user.principal@unit:13032"], None),
    "standard@own:IT4R": (["calco2.user.standard@own:13032"], None),
}
# (role case, unit filter) → the units listed: a filter narrows inside the scope, never widens it.
FILTER_CASES = [
    ("admin@global", "13030", ENAC_UNITS),
    ("admin@global", "14010", {"14010", "14011", "14012"}),
    ("metier@affiliation:ENAC", "13120", {"13120", "13035", "13036"}),
    ("metier@affiliation:ENAC", "10000", set()),  # the institution is outside ENAC's scope: refused
    ("metier@affiliation:ENAC", "14000", set()),  # another faculty: refused, nothing of STI shown
    ("metier@affiliation:ENAC+STI", "14010", {"14010", "14011", "14012"}),
]


def report(client, status: int = 200, **query) -> str:
    response = client.get(reverse("reporting-report"), {"year": 2025, "per_page": "all", **query})
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def rows(body: str) -> list[tuple[str, str, list[Decimal]]]:
    """(year, cf, [total, validated, scope 1, 2, 3]) of each row of the units table, in order."""
    table = body[body.index('id="report-table"'):]
    table = table[:table.index("</table>")]
    out = []
    for match in re.finditer(r'<tr class="report-row[^"]*" data-cf="([^"]*)" data-year="(\d+)">(.*?)</tr>', table,
                             re.S):
        out.append((match.group(2), match.group(1), [Decimal(v) for v in re.findall(r'data-kg="([^"]*)"',
                                                                                        match.group(3))]))
    return out


def totals(body: str) -> dict[str, Decimal]:
    return {cf: numbers[0] for _year, cf, numbers in rows(body)}


def listed(body: str) -> set[str]:
    return set(re.findall(r'<tr class="report-row[^"]*" data-cf="(\d+)"', body))


# --- the roll-up ---------------------------------------------------------------------------------------------
def test_the_institution_is_the_sum_of_its_faculties_and_a_faculty_the_sum_of_its_labs(client):
    client.force_login(user_with_roles(ADMIN))
    body = report(client)
    total = totals(body)
    assert total["10000"] == EPFL_TOTAL == Decimal("416419.472497")
    assert {cf: total[cf] for cf in FACULTIES} == FACULTIES
    assert sum(FACULTIES.values()) == EPFL_TOTAL  # 168834.667033 + 108823.201792 + 138761.603672
    for faculty, labs in LABS_OF.items():
        assert sum(total[lab] for lab in labs) == total[faculty], faculty
    by_cf = {cf: numbers for _year, cf, numbers in rows(body)}
    assert by_cf["10000"][1] == by_cf["13030"][1] == VALIDATED_TOTAL  # validated: ENAC's labs only
    assert sum(by_cf["10000"][2:]) == EPFL_TOTAL  # scopes 1 + 2 + 3
    # The footprint of what is shown counts each emission once: EPFL's, not EPFL + faculties + labs.
    assert re.search(r"<th scope=\"row\">2025</th><td class=\"num\">416,419</td><td class=\"num\">25,882</td>", body)
    assert 'id="usage-labs">13<' in body and 'id="usage-reports">24<' in body
    # The campaign's cells, as the progress page counts them: 13 labs × 8 modules, 6 validated.
    assert "6 of 104 lab modules validated (6 %)" in body and 'id="usage-validated">6/104<' in body
    # People who entered data: distinct creators over every entry table, counted once across tables.
    from modules.registry import KINDS

    people = set()
    for model in {spec.model for spec in KINDS.values()}:
        people.update(model.objects.filter(module_report__report__year_id=2025, created_by__isnull=False)
                      .values_list("created_by", flat=True))
    assert people and f'id="usage-users">{len(people)}<' in body


def test_the_page_shows_the_numbers_of_the_results_export(client):
    client.force_login(user_with_roles(ADMIN))
    page = {cf: numbers for _year, cf, numbers in rows(report(client))}
    out = io.StringIO()
    call_command("export_report", "results", "--year", "2025", stdout=out)
    exported = {row["unit_institutional_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert set(page) == set(exported) == ALL_UNITS
    for cf, row in exported.items():
        assert page[cf] == [Decimal(row[c]) for c in ("total", "total_validated", "scope1", "scope2", "scope3")], cf


def test_a_faculty_alone_is_the_sum_of_its_labs_and_the_footprint_follows_the_rows_shown(client):
    client.force_login(user_with_roles(ADMIN))
    body = report(client, unit="13030")
    assert listed(body) == ENAC_UNITS
    assert 'id="report-totals"' in body and ">168,835</td>" in body
    assert "6 of 40 lab modules validated (15 %)" in body and 'id="usage-labs">5<' in body
    labs_only = report(client, search="LCBM")  # one lab shown: the footprint is that lab's
    assert listed(labs_only) == {"13033"}
    lcbm = totals(labs_only)["13033"]
    assert f">{lcbm:,.0f}</td>" in labs_only.split('id="report-totals"')[1].split("</table>")[0]


# --- the clamp, over roles × scopes ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(ROLE_CASES))
def test_each_role_sees_exactly_its_scope(client, case):
    claims, expected = ROLE_CASES[case]
    client.force_login(user_with_roles(*claims))
    if expected is None:
        response = client.get(reverse("reporting-report"), {"year": 2025})
        assert response.status_code == 403
        assert b"416419" not in response.content and b"report-table" not in response.content
        return
    body = report(client)
    assert listed(body) == expected
    for cf in ALL_UNITS - expected:
        assert f'data-cf="{cf}"' not in body


@pytest.mark.parametrize(("case", "unit", "expected"), FILTER_CASES)
def test_a_unit_filter_never_widens_the_scope(client, case, unit, expected):
    claims, scope = ROLE_CASES[case]
    client.force_login(user_with_roles(*claims))
    body = report(client, status=200 if expected else 400, unit=unit)
    assert listed(body) == expected
    if not expected:
        assert f"unknown unit {unit} (or outside your scope)" in body
        assert "108,823" not in body and "POWERLAB" not in body and "416,419" not in body


def test_a_metier_of_enac_asking_for_sti_gets_nothing_of_sti(client):
    client.force_login(user_with_roles(METIER_ENAC))
    for query in ({"unit": "14000"}, {"affiliation": "14000"}, {"unit": "14011"}, {"affiliation": "10000"}):
        body = report(client, status=400, **query)
        assert 'id="report-error"' in body
        assert not listed(body)
        for text in ("108823", "108,823", "POWERLAB", "LAI", "STI-LAB", "416,419"):
            assert text not in body, (query, text)
    body = report(client, search="STI")  # a search inside the scope: nothing matches
    assert listed(body) == set()
    for text in ("108,823", "POWERLAB", "STI-LAB", "School of Engineering"):
        assert text not in body


def test_the_anonymous_are_sent_to_the_login_page(client):
    response = client.get(reverse("reporting-report"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


# --- sorting, page sizes, bad parameters ----------------------------------------------------------------------
def test_sorting_by_a_column_both_ways(client):
    client.force_login(user_with_roles(ADMIN))
    descending = rows(report(client, sort="-total"))
    assert descending[0][1] == "10000" and descending[1][1] == "13030"
    values = [numbers[0] for _y, _cf, numbers in descending]
    assert values == sorted(values, reverse=True)
    ascending = [numbers[0] for _y, _cf, numbers in rows(report(client, sort="total"))]
    assert ascending == sorted(ascending)
    by_name = report(client, sort="unit")
    names = re.findall(r'<th scope="row" class="unit-name">(?:<a [^>]*>)?([^<]+)', by_name)
    assert names == sorted(names, key=str.casefold) and len(names) == 24
    assert 'aria-sort="ascending"' in by_name
    # The header links keep the filters and toggle the direction of the current column.
    assert 'href="?year=2025&amp;sort=-unit&amp;per_page=all"' in by_name
    assert 'href="?year=2025&amp;sort=-total&amp;per_page=all"' in by_name  # numbers: largest first


def test_page_sizes_and_pages(client):
    year_create(year=2026)  # 24 more reports: 48 rows over two years
    client.force_login(user_with_roles(ADMIN))
    assert len(rows(report(client, year=[2025, 2026]))) == 48
    first = report(client, year=[2025, 2026], per_page="25", sort="-total")
    assert len(rows(first)) == 25 and "Rows 1–25 of 48 units and years" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = report(client, year=[2025, 2026], per_page="25", sort="-total", page="2")
    assert len(rows(second)) == 23 and 'rel="prev"' in second
    assert {(y, cf) for y, cf, _n in rows(first)}.isdisjoint({(y, cf) for y, cf, _n in rows(second)})
    assert rows(first)[0][1] == "10000"
    for size in ("25", "50", "100", "all"):
        assert f'data-size="{size}"' in first or size == "25"


@pytest.mark.parametrize(("query", "message"), [
    ({"year": "1999"}, "year: unknown year 1999"),
    ({"year": "x' OR 1=1"}, "year: unknown year"),
    ({"sort": "password"}, "sort: password is not one of"),
    ({"per_page": "1000000"}, "per_page: 1000000 is not one of 25, 50, 100, all"),
    ({"page": "-1"}, "page: a page is a number from 1"),
    ({"page": "7"}, "page: page 7 does not exist: there are 1"),
    ({"completion": "done"}, "completion: done is not one of"),
    ({"modules": "nothing:2"}, "modules: Invalid module type nothing"),
    ({"unit": "\x00"}, "unit: unknown unit"),
    ({"search": "x" * 101}, "search: a search has at most 100 characters"),
])
def test_bad_parameters_answer_400_with_the_reason(client, query, message):
    client.force_login(user_with_roles(ADMIN))
    body = report(client, status=400, **query)
    assert message in body.replace("&#x27;", "'")
    assert not listed(body)


# --- charts and links -----------------------------------------------------------------------------------------
def test_the_charts_are_drawn_with_their_names_and_tables(client):
    client.force_login(user_with_roles(ADMIN))
    body = report(client)
    for name, label in (("categories", "category"), ("scopes", "scope"), ("modules", "module"),
                        ("affiliations", "affiliation"), ("years", "year")):
        title = f"Footprint by {label}: all data and validated modules only"
        assert re.search(rf'<svg role="img" aria-label="{title}" aria-describedby="chart-{name}-table"', body), name
        assert f'<table id="chart-{name}-table"' in body
    svg = body[body.index('id="chart-affiliations"'):body.index('id="chart-affiliations-table"')]
    for text in ("All data", "Validated modules only", "ENAC", "STI", "SB"):
        assert text in svg
    affiliations = body.split('id="chart-affiliations-table"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="num">([\d,]+)</td>', affiliations) == [
        ("ENAC", "168,835"), ("SB", "138,762"), ("STI", "108,823")]


def test_links_carry_the_filters_to_the_exports(client):
    client.force_login(user_with_roles(METIER_ENAC))
    body = report(client, unit="13120", completion="in_progress")
    assert 'href="/admin/reporting/exports/?year=2025&amp;unit=13120&amp;completion=in_progress"' in body
    assert 'href="/admin/reporting/export/results.csv' not in body  # the download URL is the Exports page's
    assert f'href="{reverse("reporting-export", args=["results", "csv"])}?year=2025&amp;unit=13120' in body
    # and back: the Exports and Progress pages link here
    exports = client.get(reverse("reporting-exports"), {"year": 2025, "unit": "13120"}).content.decode()
    assert 'href="/admin/reporting/report/?year=2025&amp;unit=13120"' in exports
    progress = client.get(reverse("reporting-progress"), {"year": 2025}).content.decode()
    assert 'href="/admin/reporting/report/?year=2025"' in progress



def test_the_page_in_french(client, settings):
    client.force_login(user_with_roles(ADMIN, language="fr"))
    try:
        body = report(client)
    finally:  # the request left French active in this thread: the next tests read English
        translation.activate(settings.LANGUAGE_CODE)
    for text in ("Empreinte par catégorie : toutes les données et modules validés seulement",
                 "Lignes 1–24 sur 24 unités et années", "6 modules de laboratoire validés sur 104",
                 "Toutes les données, kg"):
        assert text in body, text
    assert "416 419" in body.replace("\u202f", " ").replace("\xa0", " ")  # French thousand separators


def test_with_no_year_at_all_the_page_says_so(client):
    from carbon.models import CarbonReport, YearConfiguration

    CarbonReport.objects.all().delete()
    YearConfiguration.objects.all().delete()
    client.force_login(user_with_roles(ADMIN))
    response = client.get(reverse("reporting-report"))
    assert response.status_code == 200
    assert "year: choose at least one year" in response.content.decode()
