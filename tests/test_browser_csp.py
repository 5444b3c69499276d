"""Browser: every kind of page renders under the site's Content-Security-Policy with no violation.

The login page, then a back-office admin visits the admin (index, changelist, change form, history, a year's
campaign view), the upload page, the API docs (Swagger UI from our own static files, its init script a
separate file), the lab workspace and the 404 page. The
`page` fixture (tests/browser.py) fails the test on any violation; each visit also checks its own, so a
failure names the page.
"""

import pytest

from tests.browser import log_of, page  # noqa: F401  (fixture)
from tests.factories import user_with_roles
from units.models import Provider

# Transactional: the live server answers the browser from its own thread and connection.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def backoffice_admin(settings, tree, year):
    settings.DEMO_MODE = True
    user_with_roles("calco2.backoffice.admin@global", "calco2.user.principal@unit:13032",
                    institutional_id="csp-admin", provider=Provider.DEMO)
    return tree


def visit(page, url: str, rendered: str, status: int = 200) -> None:  # noqa: F811
    """Open `url`, wait for the element that shows it rendered, and check that nothing was refused."""
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    assert "content-security-policy" in response.headers, url
    page.wait_for_selector(rendered)
    page.evaluate("1")  # a round trip: the page's violation reports have reached Python
    assert not log_of(page).problems(), (url, log_of(page).problems())


def test_every_kind_of_page_renders_under_the_csp(page, live_server, backoffice_admin):  # noqa: F811
    base = live_server.url
    it4r = backoffice_admin["it4r"]
    visit(page, f"{base}/accounts/login/", "#id_username")
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "csp-admin")
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    visit(page, f"{base}/admin/", "#content .campaign-tools")
    visit(page, f"{base}/admin/units/unit/", "#result_list")
    visit(page, f"{base}/admin/units/unit/{it4r.pk}/change/", "#unit_form")
    visit(page, f"{base}/admin/units/unit/{it4r.pk}/history/", "#change-history")
    visit(page, f"{base}/admin/carbon/yearconfiguration/2025/change/", "#yearconfiguration_form")
    visit(page, f"{base}/admin/upload/", "#upload-form #id_file")
    # django-import-export's export page: its one inline handler (allowed by hash) still works.
    visit(page, f"{base}/admin/units/unit/export/", "input.select-toggle")
    page.locator("input.select-toggle").uncheck()
    assert not log_of(page).problems()
    # Swagger UI rendered the schema: its info block and the operations.
    visit(page, f"{base}/api/v1/docs/", "#swagger-ui .information-container .title")
    assert "Carbon calculator API" in page.locator("#swagger-ui .info .title").inner_text()
    page.wait_for_selector("#swagger-ui .opblock")
    visit(page, f"{base}/", "table.table")
    assert page.locator("h1").inner_text() == "My labs"
    visit(page, f"{base}/no-such-page/", "#error-admin", status=404)
    assert page.locator("h1").inner_text() == "Page not found"
