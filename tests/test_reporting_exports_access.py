"""Who may download the back-office exports, and what each one gets: generated over roles × scopes × every
export URL the module routes (`reporting.export_urls.download_urls`), asserting on the bodies — a metier of one
faculty gets that faculty's subtree and nothing else, in every export and format.

`demo` (conftest): the demo loaded once for this module, each test rolled back to it.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reporting.export_urls import download_urls
from tests.exports_helpers import pdf_text, unit_ids
from tests.factories import user_with_roles
from units.models import Unit

ENAC_SUBTREE = {"13030", "13100", "13110", "13120", "13032", "13033", "13034", "13035", "13036"}
STI_SUBTREE = {"14000", "14010", "14020", "14011", "14012", "14021", "14022"}
IIC_SUBTREE = {"13110", "13033", "13034"}

# role claim → the unit ids it may report on (None: every unit)
REPORTERS = {
    "calco2.backoffice.admin@global": None,
    "calco2.backoffice.metier@affiliation:13030": ENAC_SUBTREE,
    "calco2.backoffice.metier@affiliation:14000": STI_SUBTREE,
    "calco2.backoffice.metier@affiliation:13110": IIC_SUBTREE,
}
NOT_REPORTERS = ["calco2.user.principal@unit:13032", "calco2.user.standard@own:13032", "calco2.auditor@global",
                 "calco2.auditor@affiliation:13030"]
DOWNLOADS = [(name, fmt) for name, fmt, _path in download_urls()]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _pdf_units(data: bytes) -> set[str]:
    """Unit ids named in a PDF's unit table ("NAME (cf)") or its title."""
    return set(re.findall(r"\((\d{5})\)", pdf_text(data)))


@pytest.mark.parametrize("claim", list(REPORTERS))
@pytest.mark.parametrize(("name", "fmt"), DOWNLOADS)
def test_a_reporter_gets_exactly_their_subtree(demo, client, claim, name, fmt):
    allowed = REPORTERS[claim] or set(Unit.objects.values_list("institutional_id", flat=True))
    client.force_login(user_with_roles(claim))
    response = client.get(reverse("reporting-export", args=[name, fmt]), {"year": "2025"})
    assert response.status_code == 200, _body(response)[:300]
    data = _body(response)
    found = _pdf_units(data) if fmt == "pdf" else unit_ids(data, fmt)
    if name == "detailed":  # entries exist only in labs
        allowed_with_data = {cf for cf in allowed if Unit.objects.get(institutional_id=cf).level == 4}
        assert found and found <= allowed_with_data, (claim, found - allowed_with_data)
    else:
        assert found == allowed, (claim, found ^ allowed)
    event = AuditEvent.objects.filter(action="exported").latest("pk")
    assert (event.source, event.details["report"], event.details["format"]) == ("admin", name, fmt)
    assert event.details["filters"]["scoped"] is True and event.actor.institutional_id
    assert event.user_agent is not None


@pytest.mark.parametrize("claim", NOT_REPORTERS)
@pytest.mark.parametrize(("name", "fmt"), DOWNLOADS)
def test_other_roles_are_refused(demo, client, claim, name, fmt):
    client.force_login(user_with_roles(claim))
    assert client.get(reverse("reporting-export", args=[name, fmt]), {"year": "2025"}).status_code == 403


@pytest.mark.parametrize(("name", "fmt"), DOWNLOADS)
def test_the_anonymous_are_sent_to_the_login_page(demo, client, name, fmt):
    response = client.get(reverse("reporting-export", args=[name, fmt]), {"year": "2025"})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_a_filter_never_widens_the_scope(demo, client):
    client.force_login(user_with_roles("calco2.backoffice.metier@affiliation:13110"))
    url = reverse("reporting-export", args=["results", "csv"])
    # A unit outside the scope is refused like an unknown one; the faculty above the scope too.
    for outside in ("14000", "13030", "10000", "99999"):
        response = client.get(url, {"year": "2025", "unit": outside})
        assert response.status_code == 400
        assert f"unknown unit {outside} (or outside your scope)" in response.content.decode()
    inside = client.get(url, {"year": "2025", "unit": "13033"})
    assert unit_ids(_body(inside), "csv") == {"13033"}


@pytest.mark.parametrize(("query", "message"), [
    ({}, "year: choose at least one year"),
    ({"year": "abc"}, "year: unknown year abc"),
    ({"year": "2025", "completion": "x"}, "completion: x is not one of"),
    ({"year": "2025", "modules": "headcount"}, "modules: Invalid module status"),
    ({"year": "2025", "modules": "nope:1"}, "modules: Invalid module type nope"),
    ({"year": "2025", "search": "x" * 101}, "search: a search has at most 100 characters"),
    ({"year": "2025", "unit": "1\x00"}, "unit: unknown unit"),
])
def test_bad_filters_answer_400_with_the_reason(demo, client, query, message):
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    response = client.get(reverse("reporting-export", args=["results", "csv"]), query)
    assert response.status_code == 400 and message in response.content.decode()
    page = client.get(reverse("reporting-exports"), {"year": "abc"})
    assert page.status_code == 400 and "unknown year abc" in page.content.decode()


def test_unknown_exports_and_formats_answer_400(demo, client):
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    assert client.get(reverse("reporting-export", args=["nope", "csv"]), {"year": "2025"}).status_code == 400
    response = client.get(reverse("reporting-export", args=["usage", "pdf"]), {"year": "2025"})
    assert response.status_code == 400 and "usage is available as csv, json" in response.content.decode()


@pytest.mark.parametrize("claim", [*REPORTERS, *NOT_REPORTERS])
def test_the_exports_page(demo, client, claim):
    client.force_login(user_with_roles(claim))
    response = client.get(reverse("reporting-exports"))
    index = client.get(reverse("admin:index"))
    if claim not in REPORTERS:
        assert response.status_code == 403
        assert 'id="reporting-exports-link"' not in index.content.decode()
        return
    assert 'id="reporting-exports-link"' in index.content.decode()  # reached from the admin's index
    page = response.content.decode()
    assert response.status_code == 200
    for name, fmt, path in download_urls():
        assert f'id="export-{name}-{fmt}"' in page and f"{path}?year=2025" in page
    filtered = client.get(reverse("reporting-exports"), {"year": "2025", "modules": "buildings:2",
                                                         "completion": "in_progress"}).content.decode()
    assert "modules=buildings%3A2" in filtered and "completion=in_progress" in filtered


def test_a_lab_pdf_of_a_year_without_its_report_answers_400(demo, client):
    from carbon.models import CarbonReport
    from carbon.services import year_create

    year_create(year=2026)
    CarbonReport.objects.filter(year_id=2026, unit__institutional_id="13032").delete()
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    response = client.get(reverse("reporting-export", args=["results", "pdf"]), {"year": "2026", "unit": "13032"})
    assert response.status_code == 400 and "13032 has no report in 2026" in response.content.decode()
