"""Browser: the lab pages as the demo's people use them, under the site's Content-Security-Policy.

- a standard user adds a flight with the airport autocomplete, edits it, and cannot open a colleague's;
- a principal uploads a purchases file with a bad row, sees the row error, fixes the file, confirms, follows
  the import to "Done", sees the rows, and validates the module;
- the results page shows the figures the results API returns, and its charts;
- the language switcher shows the pages in French;
- axe-core (vendored: tests/vendor/axe.min.js) finds no serious or critical violation on any lab page, in
  English and in French;
- an entry is added with the keyboard only;
- `manage.py screenshots --url` captures the main pages.

One demo, one live server, one job worker and one Chromium for the whole module (a few seconds each): the demo
is loaded and committed once (the live server answers from its own connection), each test works on rows of
its own, and the database is emptied after the module's last test, as a transactional test leaves it. Each
test gets fresh browser contexts (cookies); any CSP violation of their pages fails the test (as with
tests/browser.py), the pages checked by axe included: axe is an init script of the context, not a <script>
of the page, so the page's policy applies unchanged.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils import translation

from modules.registry import KINDS
from tests.browser import CHROMIUM, FLAGS, REPORT_VIOLATIONS, BrowserLog, Worker
from tests.conftest import FAST_HASHERS

# `django_db`: the test's own reads run in a transaction rolled back after it (they see what the live server
# committed); the demo itself is committed by the module's `site` fixture, and emptied after the module.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=["default", "jobs"])]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CF, YEAR = "13032", 2025  # the demo's IT4R, its 2025 campaign open
LAB = f"/labs/{CF}/{YEAR}/"
PLANE = KINDS["plane"].model
PURCHASE = KINDS["purchase"].model
MODULES = ["headcount", "professional_travel", "buildings", "equipment", "purchase", "research_facilities",
           "external_cloud_and_ai", "process_emissions"]


class Site:
    """The module's live server (`url`), Chromium (`browser`) and the browser contexts of the current test."""

    def __init__(self, url: str, browser):
        self.url = url
        self.browser = browser
        self.contexts: list[tuple[object, BrowserLog]] = []

    def page(self, login: str | None = None, *, axe: bool = False):
        """A page in a fresh context, signed in as `login` (password "demo") with the login form.

        `axe`: axe-core is in every document of the context, injected by the browser before the page's own
        scripts (an init script, like the CSP reporter: not a <script> of the page, so the page's CSP neither
        blocks it nor needs to be bypassed, and the pages are checked under their real policy)."""
        log = BrowserLog()
        context = self.browser.new_context(viewport={"width": 1280, "height": 800})
        context.expose_binding("__cspViolation", lambda _source, report: log.violations.append(report))
        context.add_init_script(REPORT_VIOLATIONS)
        if axe:
            context.add_init_script(path=str(AXE))
        self.contexts.append((context, log))
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("console", lambda message: log.console.append(f"{message.type}: {message.text}"))
        if login:
            page.goto(self.url + "/accounts/login/")
            page.fill("#id_username", login)
            page.fill("#id_password", "demo")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url == self.url + "/", page.url
        return page

    def close_contexts(self) -> list:
        problems = []
        for context, log in self.contexts:
            with contextlib.suppress(Exception):  # a round trip: reports already sent reach Python first
                for page in context.pages:
                    page.evaluate("1")
            context.close()
            problems += log.problems()
        self.contexts.clear()
        return problems


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    media = tmp_path_factory.mktemp("lab-media")
    with django_db_blocker.unblock():
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(override_settings(DEMO_MODE=True, PASSWORD_HASHERS=FAST_HASHERS,
                                                      MEDIA_ROOT=media))
                patch = stack.enter_context(pytest.MonkeyPatch.context())
                patch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)  # the worker is the queue
                call_command("load_demo", stdout=io.StringIO())  # committed: the live server reads it
                server = LiveServer("localhost")
                stack.callback(server.stop)
                server._live_server_modified_settings.enable()
                stack.callback(server._live_server_modified_settings.disable)
                worker = Worker()
                worker.start()
                stack.callback(worker.stopped.set)
                playwright = stack.enter_context(sync_playwright())
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                stack.callback(browser.close)
                yield Site(server.url, browser)
                worker.stopped.set()
                worker.join(timeout=30)
                # While Playwright runs, Django's connections of this thread are kept per context (asgiref
                # sees an event loop): the tests' connections are closed now, or they would outlive the module.
                connections.close_all()
                assert worker.failure is None, worker.failure
        finally:  # the browser, the server and the worker are gone: empty the database for the next modules
            connections.close_all()
            call_command("flush", interactive=False, verbosity=0)
            connections.close_all()  # this thread's `jobs` too: nobody left on the database when it is dropped


@pytest.fixture
def lab(site):
    """The module's site for one test: its browser contexts closed after it, their CSP violations failing it."""
    yield site
    problems = site.close_contexts()
    assert not problems, "Content-Security-Policy violations:\n" + "\n".join(map(str, problems))


# --- helpers ------------------------------------------------------------------------------------------------
def go(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    return response


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def table_of(page, kind: str):
    return page.locator(f"section[aria-labelledby='kind-{kind}']")


def row_with(page, kind: str, text: str):
    return table_of(page, kind).locator("table.entries tbody tr", has_text=text)


def number(text: str) -> Decimal:
    """A number as the English pages write it ('48,841', '8.3 t CO₂-eq')."""
    match = re.search(r"-?[\d,]+(?:\.\d+)?", text)
    assert match, text
    return Decimal(match.group().replace(",", ""))


@contextlib.contextmanager
def in_french(page):
    """Switch the signed-in person to French with the header's switcher; back to English afterwards (the choice
    is remembered on the user, and the other tests read English)."""
    page.select_option("#language-choice", "fr")
    click_and_wait(page, page.locator("form.language button[type=submit]"))
    try:
        yield
    finally:
        page.select_option("#language-choice", "en")
        click_and_wait(page, page.locator("form.language button[type=submit]"))


# --- 1. a standard user's flight ----------------------------------------------------------------------------
def test_standard_user_adds_a_flight_with_the_airport_autocomplete_and_edits_it(lab):
    page = lab.page("demo-standard")
    go(page, lab.url + LAB + "professional_travel/")
    plane = table_of(page, "plane")
    assert "215834" not in plane.inner_text()  # the demo's flights are colleagues' (215834, 301562, 100002)
    click_and_wait(page, plane.get_by_role("link", name="Add to Plane trips"))
    assert page.locator("h1").inner_text() == "Add to Plane trips"

    # "Gen" → the datalist fills from /api/v1/locations/?mode=plane&q=Gen; Geneva is picked by its code.
    origin = page.locator("#field-origin_iata")
    origin.press_sequentially("Gen", delay=30)
    page.locator("#field-origin_iata-options option[value='GVA']").wait_for(state="attached")
    suggestions = page.locator("#field-origin_iata-options option").evaluate_all(
        "options => options.map(o => [o.value, o.label])")
    assert ("GVA", "GVA – Geneva Cointrin International Airport (CH)") in [tuple(s) for s in suggestions]
    origin.fill("GVA")
    page.fill("#field-destination_iata", "LIS")
    # The traveller suggestions of a standard user name nobody else (the lab's people list is the principal's).
    travellers = page.request.get(lab.url + f"/api/v1/units/{CF}/years/{YEAR}/travellers/?q=2").json()
    assert {t["user_institutional_id"] for t in travellers} <= {"demo-standard"}, travellers
    page.fill("#field-user_institutional_id", "demo-standard")
    page.fill("#field-departure_date", "2025-05-04")
    page.fill("#field-number_of_trips", "1")
    page.select_option("#field-cabin_class", "economy")
    page.fill("#field-note", "browser test flight")
    click_and_wait(page, page.get_by_role("button", name="Save"))
    assert page.url == lab.url + LAB + "professional_travel/"
    assert "Saved." in page.locator("ul.messages").inner_text()
    row = row_with(page, "plane", "LIS")
    assert row.count() == 1 and "GVA" in row.inner_text()
    once = number(row.locator("td.num").inner_text())
    assert once > 0

    # Edit: two trips, twice the emissions; still only their own row.
    click_and_wait(page, row.get_by_role("link", name=re.compile("^Edit")))
    assert page.locator("#field-origin_iata").input_value() == "GVA"
    page.fill("#field-number_of_trips", "2")
    click_and_wait(page, page.get_by_role("button", name="Save"))
    row = row_with(page, "plane", "LIS")
    assert abs(number(row.locator("td.num").inner_text()) - 2 * once) <= Decimal("0.2")
    assert "Plane trips: 1 row" in table_of(page, "plane").locator("caption").inner_text()
    assert "215834" not in table_of(page, "plane").inner_text()

    # A colleague's flight is not there for them, by link or by address.
    theirs = PLANE.objects.filter(user_institutional_id="215834").first()
    assert theirs is not None
    go(page, lab.url + LAB + f"professional_travel/plane/{theirs.pk}/", status=404)
    go(page, lab.url + LAB + f"professional_travel/plane/{theirs.pk}/delete/", status=404)
    mine = PLANE.objects.get(note="browser test flight")
    assert (mine.origin_iata, mine.destination_iata, mine.number_of_trips) == ("GVA", "LIS", 2)


# --- 2. a principal's unit file ------------------------------------------------------------------------------
PURCHASES = ("name,total_spent_amount,purchase_institutional_code,currency,note\n"
             "Browser test pipettes,1200.00,41100000,CHF,browser upload\n"
             "Browser test centrifuge,{amount},41100000,EUR,browser upload\n")


def upload(page, content: str) -> None:
    page.set_input_files("#upload-file", files=[
        {"name": "purchases.csv", "mimeType": "text/csv", "buffer": content.encode()}])
    click_and_wait(page, page.get_by_role("button", name="Check the file"))


def test_principal_uploads_a_file_fixes_its_bad_row_imports_it_and_validates(lab):
    page = lab.page("demo-principal")
    go(page, lab.url + LAB + "purchase/")
    click_and_wait(page, table_of(page, "purchase").get_by_role("link", name="Import a CSV file"))

    upload(page, PURCHASES.format(amount="lots"))
    assert page.locator("h1").inner_text() == "Check of purchases.csv"
    assert "1 error: nothing can be imported" in page.locator(".error-summary").inner_text()
    errors = page.locator("table", has=page.locator("caption", has_text="Errors")).locator("tbody tr")
    assert errors.count() == 1
    assert errors.locator("td").all_inner_texts()[:2] == ["2", "total_spent_amount"]  # the 2nd row of data
    assert page.get_by_role("button", name="Import these rows").count() == 0
    click_and_wait(page, page.get_by_role("button", name="Back"))
    assert "nothing was imported" in page.locator("ul.messages").inner_text()
    assert row_with(page, "purchase", "Browser test").count() == 0

    click_and_wait(page, table_of(page, "purchase").get_by_role("link", name="Import a CSV file"))
    upload(page, PURCHASES.format(amount="2500.00"))
    assert "2 rows are ready to be imported." in page.locator("main").inner_text()
    click_and_wait(page, page.get_by_role("button", name="Import these rows"))
    assert re.search(rf"{LAB}jobs/\d+/$", page.url), page.url
    page.wait_for_function(
        "() => document.getElementById('job-status').textContent.startsWith('Done')", timeout=30000)
    assert "Done: the rows are in." in page.locator("#job-status").inner_text()
    click_and_wait(page, page.get_by_role("link", name="Back to the rows"))
    for name in ("Browser test pipettes", "Browser test centrifuge"):
        row = row_with(page, "purchase", name)
        assert row.count() == 1 and "Unit CSV upload" in row.inner_text(), name
    assert PURCHASE.objects.filter(note="browser upload").count() == 2

    # Validate, after the page that says what it means.
    click_and_wait(page, page.get_by_role("link", name="Validate…"))
    assert page.locator("h1").inner_text() == "Validate Purchases?"
    assert "count in the lab's results" in page.locator("main").inner_text()
    click_and_wait(page, page.get_by_role("button", name="Validate"))
    assert page.url == lab.url + LAB + "purchase/"
    assert "Validated: it counts in the results." in page.locator("ul.messages").inner_text()
    assert page.locator("p.status .badge").inner_text() == "Validated"


# --- 3. results --------------------------------------------------------------------------------------------
def assert_shown(page, selector: str, api_value: str, decimals: int) -> None:
    """The figure in `selector` is the API's value at the page's precision (half a last digit of slack: the
    page rounds the exact value, the API's string is itself rounded)."""
    shown = number(page.locator(selector).inner_text())
    assert abs(shown - Decimal(api_value)) <= Decimal("0.5") * Decimal(10) ** -decimals + Decimal("0.001"), (
        selector, shown, api_value)


def test_results_page_shows_the_numbers_of_the_results_api(lab):
    page = lab.page("demo-principal")
    response = go(page, lab.url + LAB + "results/")
    data = page.request.get(lab.url + f"/api/v1/units/{CF}/years/{YEAR}/results/").json()
    assert response.ok and data["total_kg"] is not None  # the demo validates Headcount and Professional travel
    assert page.locator("h1").inner_text() == f"Results of IT4R in {YEAR}"
    assert f"{data['validated_modules']} of {data['module_count']} modules are validated" in (
        page.locator("p.lead").inner_text())
    assert_shown(page, "#total-value", data["total_t"], 1)
    assert_shown(page, "#per-fte-value", data["t_per_fte"], 2)
    assert_shown(page, "#car-km-value", data["car_km"], 0)
    # Each validated category's tonnes in the table, the page's total = the API's.
    table = page.locator("#categories-table")
    for category in data["categories"]:
        if category["validated"] and category["t"] is not None:
            cells = table.locator("tbody tr", has=page.locator("th", has_text=category["label"])).locator("td")
            total = number(cells.nth(cells.count() - 2).inner_text())
            assert abs(total - Decimal(category["t"])) <= Decimal("0.006"), category
    foot = table.locator("tfoot td")
    assert abs(number(foot.nth(foot.count() - 2).inner_text()) - Decimal(data["total_t"])) <= Decimal("0.006")
    # The charts, each with its text alternative.
    for chart in ("chart-categories", "chart-modules"):
        svg = page.locator(f"#{chart} svg[role=img]")
        assert svg.count() == 1 and svg.get_attribute("aria-label"), chart
        assert page.locator(f"#{chart}-text").inner_text().strip(), chart


# --- 4. French -----------------------------------------------------------------------------------------------
def test_the_language_switch_shows_french(lab):
    page = lab.page("demo-standard")
    with translation.override("fr"):
        french = translation.gettext("My labs")
    assert french != "My labs", "no French catalogue for the lab pages (locale/fr/LC_MESSAGES/django.mo)"
    assert page.locator("html").get_attribute("lang") == "en"
    with in_french(page):
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.locator("h1").inner_text() == french
        assert page.locator("#language-choice").input_value() == "fr"
        go(page, lab.url + LAB)
        assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "IT4R · 2025"


# --- 5. axe-core on every lab page, in both languages ------------------------------------------------------
def axe_violations(page) -> list[dict]:
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"      {' '.join(map(str, node['target']))}")
            lines.append("        " + node["failureSummary"].replace("\n", "\n        "))
    return "\n".join(lines)


def lab_pages(page, base: str):
    """(name, how to reach it) for every kind of lab page; each opener leaves the page on it."""
    def visit(path):
        return lambda: go(page, base + path)

    def form_with_errors():
        go(page, base + LAB + "professional_travel/plane/new/")
        page.fill("#field-number_of_trips", "many")
        with page.expect_navigation():
            page.locator("form.entry-form button[type=submit]").click()
        assert page.locator("#error-summary").count() == 1

    def preview_with_errors():
        go(page, base + LAB + "purchase/purchase/upload/")
        page.set_input_files("#upload-file", files=[
            {"name": "bad.csv", "mimeType": "text/csv", "buffer": PURCHASES.format(amount="lots").encode()}])
        with page.expect_navigation():
            page.locator("form.card button[type=submit]").click()
        assert page.locator(".error-summary").count() == 1

    pages = [("workspace", visit("/")), ("overview", visit(LAB))]
    pages += [(f"module {m}", visit(f"{LAB}{m}/")) for m in MODULES]
    pages += [("entry form", visit(LAB + "process_emissions/process_emission/new/")),
              ("form with errors", form_with_errors),
              ("upload", visit(LAB + "purchase/purchase/upload/")),
              ("upload preview with errors", preview_with_errors),
              ("validation", visit(LAB + "process_emissions/validation/")),
              ("results", visit(LAB + "results/"))]
    return pages


def test_axe_finds_no_serious_violation_on_the_lab_pages_in_english_and_french(lab):
    page = lab.page("demo-principal", axe=True)
    failures = []

    def check_all(language: str):
        for name, open_page in lab_pages(page, lab.url):
            open_page()
            assert page.locator("html").get_attribute("lang") == language, name
            if found := axe_violations(page):
                failures.append(f"{name} ({language}) {page.url}\n{describe(found)}")

    check_all("en")
    with in_french(page):
        check_all("fr")
    assert not failures, "axe-core, serious or critical violations:\n" + "\n".join(failures)


# --- 6. keyboard only --------------------------------------------------------------------------------------
def tab_to(page, predicate: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `predicate` (a JS function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {predicate}")


def test_an_entry_is_added_with_the_keyboard_only(lab):
    page = lab.page("demo-principal")
    go(page, lab.url + LAB + "process_emissions/")
    tab_to(page, "e => e.textContent.trim() === 'Add to Process emissions'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Add to Process emissions"
    tab_to(page, "e => e.id === 'field-category'")
    page.keyboard.type("CO2")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "field-subcategory"
    page.keyboard.press("Tab")
    page.keyboard.type("12.5")
    page.keyboard.press("Tab")
    page.keyboard.type("typed without a mouse")
    tab_to(page, "e => e.type === 'submit' && e.closest('form.entry-form')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == lab.url + LAB + "process_emissions/"
    assert "Saved." in page.locator("ul.messages").inner_text()
    row = row_with(page, "process_emission", "12.5")
    assert row.count() == 1 and "CO2" in row.inner_text() and "Entered by hand" in row.inner_text()
    assert number(row.locator("td.num").inner_text()) == Decimal("12.5")  # CO2: 1 kg CO2-eq per kg


# --- 7. the screenshots command --------------------------------------------------------------------------------
def test_screenshots_command_captures_the_main_pages(lab, tmp_path):
    """Against the module's server (`--url`): the command starts nothing, and only reads (its upload is
    cancelled). In a thread of its own: Playwright's sync API runs one instance per thread."""
    out = io.StringIO()
    failure: list[BaseException] = []

    def run():
        try:
            call_command("screenshots", "--url", lab.url, "--output", str(tmp_path), stdout=out)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="screenshots")
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive() and not failure, (failure, out.getvalue())
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["entry-form-errors.png", "module.png", "overview.png", "results-charts.png", "results.png",
                     "upload-preview.png", "workspace.png"], names
    for path in tmp_path.glob("*.png"):
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", path
        assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == (1280, 800), path
        assert path.stat().st_size < 300_000, path
    assert "7 screenshots in" in out.getvalue()


# --- 6. the auditor's trail, as the demo auditor clicks through it -----------------------------------------
def test_the_auditor_filters_the_trail_opens_a_diff_and_downloads_it(lab):
    page = lab.page("demo-auditor", axe=True)
    go(page, lab.url + "/admin/")
    click_and_wait(page, page.locator("#audit-trail-link"))
    assert not axe_violations(page), describe(axe_violations(page))
    # Who changed a plane factor, from what to what: the filters are reached and set with the keyboard.
    page.locator("select[name=object_type]").focus()
    page.select_option("select[name=object_type]", "factors.planefactor")
    page.select_option("select[name=action]", "changed")
    with page.expect_navigation():
        page.locator("input[name=text]").press("Enter")
    rows = page.locator("tr.trail-row")
    assert rows.count() == 1 and "Alex Admin" in rows.first.inner_text()
    click_and_wait(page, rows.first.locator("a.trail-open"))
    diff = page.locator("#trail-diff").inner_text()
    assert "0.60560000" in diff and "0.44710000" in diff
    assert not axe_violations(page), describe(axe_violations(page))
    page.go_back()
    with page.expect_download() as download:
        page.click("#trail-export-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["actor"], r["object_type"]) for r in exported] == [("Alex Admin", "plane factor")]
