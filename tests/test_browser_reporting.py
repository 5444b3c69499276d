"""Browser: the back-office reporting page as demo-metier (ENAC) and demo-admin use it, in Chromium under the
site's Content-Security-Policy: filters (year, affiliation), a sort by clicking a column header (and with the
keyboard), a page size, the charts (SVG named, with their series' labels), and axe-core with no serious or
critical violation. The module's live server, demo and Chromium are tests/test_browser_lab.py's (`site`, `lab`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_browser_lab import axe_violations, click_and_wait, describe, go, lab, site  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=["default", "jobs"])]

REPORT = "/admin/reporting/report/"
CHARTS = ("categories", "scopes", "modules", "affiliations", "years")


def listed(page) -> list[str]:
    return page.locator("#report-table tr.report-row").evaluate_all("rows => rows.map(r => r.dataset.cf)")


def first_total(page) -> Decimal:
    return Decimal(page.locator("#report-table tr.report-row").first.locator("td[data-kg]").first
                   .get_attribute("data-kg"))


def check_axe(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"{where}:\n{describe(found)}"


@pytest.mark.parametrize(("login", "units", "affiliation", "after_filter", "top_total"), [
    ("demo-metier", 9, "13120", {"13120", "13035", "13036"}, Decimal("168834.667033")),
    ("demo-admin", 24, "13030", {"13030", "13100", "13110", "13120", "13032", "13033", "13034", "13035", "13036"},
     Decimal("416419.472497")),
])
def test_the_reporting_page_with_its_filters_sorting_page_sizes_and_charts(
        lab, login, units, affiliation, after_filter, top_total):  # noqa: F811 (the `lab` fixture)
    page = lab.page(login, axe=True)
    go(page, lab.url + REPORT)
    assert page.locator("h1").inner_text() == "Reporting"
    assert page.locator("#year-2025, input[name=year][value='2025']").first.is_checked()
    assert len(listed(page)) == units
    for name in CHARTS:
        svg = page.locator(f"#chart-{name} svg[role=img]")
        assert svg.count() == 1, name
        assert svg.get_attribute("aria-label").startswith("Footprint by"), name
        assert page.locator(f"#chart-{name}-table").count() == 1
    legend = page.locator("#chart-categories svg").text_content()
    assert "All data" in legend and "Validated modules only" in legend
    check_axe(page, f"{login}: the page")

    # Sort by the total, largest first: one click on the column header.
    click_and_wait(page, page.locator("a.sort-link[data-sort=total]"))
    assert "sort=-total" in page.url
    assert first_total(page) == top_total
    assert page.locator("th[aria-sort=descending] a[data-sort=total]").count() == 1
    # Again with the keyboard: focus the header link, Enter — ascending now.
    page.locator("a.sort-link[data-sort=total]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "sort=total" in page.url and "sort=-total" not in page.url
    totals = page.locator("#report-table td[data-kg]").evaluate_all("cells => cells.map(c => c.dataset.kg)")
    column = [Decimal(v) for v in totals[::5]]
    assert column == sorted(column)

    # The page size: 25 rows a page (the demo has fewer: one page), then "all" again.
    click_and_wait(page, page.locator("a.page-size[data-size='25']"))
    assert "per_page=25" in page.url and "sort=total" in page.url
    assert len(listed(page)) == units
    assert page.locator(".report-page-sizes strong").inner_text() == "25"

    # Filters: the year and an affiliation; the sort survives the form.
    page.check("input[name=year][value='2025']")
    page.select_option("#report-affiliation", affiliation)
    click_and_wait(page, page.locator("#report-filters input[type=submit]"))
    assert f"affiliation={affiliation}" in page.url and "year=2025" in page.url
    assert set(listed(page)) == after_filter
    assert page.locator("#chart-affiliations svg[role=img]").count() == 1
    check_axe(page, f"{login}: filtered")
    # The download links carry the filters.
    href = page.locator("#report-exports-link").get_attribute("href")
    assert href.startswith("/admin/reporting/exports/?") and f"unit={affiliation}" in href


def test_a_metier_cannot_reach_another_faculty_from_the_address_bar(lab):  # noqa: F811
    page = lab.page("demo-metier", axe=True)
    go(page, lab.url + REPORT + "?year=2025&affiliation=14000", status=400)
    assert "outside your scope" in page.locator("#report-error").inner_text()
    assert listed(page) == []
    assert "POWERLAB" not in page.content()
    check_axe(page, "the refusal")


def test_the_back_office_pages_pass_axe(lab):  # noqa: F811 (the `lab` fixture)
    """The admin's index (grouped by module), the progress, exports and trail pages, as demo-admin sees them."""
    page = lab.page("demo-admin", axe=True)
    for url in ("/admin/", "/admin/reporting/progress/?year=2025", "/admin/reporting/exports/",
                "/admin/audit/trail/"):
        go(page, lab.url + url)
        check_axe(page, url)
    click_and_wait(page, page.locator("a.trail-open").first)  # one trail row, whole
    check_axe(page, page.url)
