"""Browser flows: a back-office user signs in and sees their scope; a lab user sees their labs."""

import pytest
from django.core.management import call_command

from tests.browser import page  # noqa: F401  (fixture)

# Transactional: the live server answers the browser from its own thread and connection.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    call_command("load_demo")


def sign_in(page, live_server, username, path="/admin/"):  # noqa: F811
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_metier_signs_in_and_sees_only_their_school(page, live_server, demo):  # noqa: F811
    sign_in(page, live_server, "demo-metier")
    with page.expect_navigation():
        page.click("#content-main a:text-is('Units')")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    names = {rows.nth(i).locator("th").inner_text().strip() for i in range(rows.count())}
    assert "ENAC" in names and "IT4R" in names
    assert "STI" not in names and "EPFL" not in names
    # Drill down: the children link of ENAC filters the list to its children.
    page.locator("#result_list tbody tr", has_text="ENAC").first.locator("td.field-children_link a").click()
    page.wait_for_url("**parent__id__exact**")
    assert "parent__id__exact" in page.url


def test_lab_user_signs_in_with_the_keyboard_and_sees_their_labs(page, live_server, demo):  # noqa: F811
    sign_in(page, live_server, "demo-principal", path="/")
    assert page.locator("h1").inner_text() == "My labs"
    table = page.locator("table.table").inner_text()
    assert "IT4R" in table and "Principal" in table
    assert "2025" in table
