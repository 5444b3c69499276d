"""Query counts that do not grow with the institution (issue 13): a smaller copy of `bench/institution.py`'s campaign
(the same generator: every entry kind of the registry that the demo has rows of, imported through the real
importer) at two sizes — 20 labs / 1,500 entries and 60 labs / 6,000 entries — and the back-office pages an
operator opens on it, each asked by a signed-in admin: the same number of queries at both sizes, and under a fixed
ceiling. At 5,000 labs and 2,000,000 entries the bench prints the same counts (docs/performance.md).
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.institution import YEAR, Generator, load_year, run_import, validate_some
from carbon.models import CarbonReport, Emission
from carbon.services import year_create
from modules.registry import load_order
from reporting.links import lab_results_url
from tests.conftest import FAST_HASHERS
from tests.factories import UnitFactory, user_with_roles

SIZES = ((20, 1_500), (60, 6_000))  # (labs, entries)
PAGES = {
    "campaign view": lambda: reverse("admin:carbon_yearconfiguration_change", args=[YEAR]),
    "progress page": lambda: f"{reverse('reporting-progress')}?year={YEAR}",
    "reporting page": lambda: f"{reverse('reporting-report')}?year={YEAR}",
    "reporting page, every row": lambda: f"{reverse('reporting-report')}?year={YEAR}&per_page=all",
    "results export": lambda: f"{reverse('reporting-export', args=['results', 'csv'])}?year={YEAR}",
    "reports list": lambda: reverse("admin:carbon_carbonreport_changelist"),
    "a lab's results page": lambda: lab_results_url("L0007", YEAR),
}
# Each page's ceiling: what it takes today, plus a little room (a page that starts growing with the data fails
# the equality below first; this catches a constant that creeps up).
CEILING = {"campaign view": 38, "progress page": 16, "reporting page": 36, "reporting page, every row": 36,
           "results export": 14, "reports list": 12, "a lab's results page": 10}


def build(labs: int, entries: int) -> list[str]:
    """The bench's institution in small: root → 4 schools → labs/5 institutes → labs, the year with its reference
    data and factors, opened, one per-year file per kind imported, a third of the labs' modules validated."""
    root = UnitFactory(institutional_code="1", institutional_id="1", name="ROOT")
    schools = [UnitFactory(institutional_code=f"2{i}", institutional_id=f"2{i}", name=f"S{i}", parent=root)
               for i in range(4)]
    institutes = [UnitFactory(institutional_code=f"3{i}", institutional_id=f"3{i}", name=f"I{i}",
                              parent=schools[i % 4]) for i in range(labs // 5)]
    cfs = [UnitFactory(institutional_code=f"4{i:04d}", institutional_id=f"L{i:04d}", name=f"LAB{i}",
                       parent=institutes[i % len(institutes)]).institutional_id for i in range(labs)]
    year_create(year=YEAR)
    generator = Generator(cfs, entries, [spec.name for spec in load_order()])
    load_year(generator, all_airports=False)
    for spec in load_order():
        data = generator.file(spec.name)
        if data is not None:
            run_import(spec.name, data)
    validate_some()
    return cfs


def page_counts() -> dict[str, int]:
    client = Client()
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    counts = {}
    for name, url in PAGES.items():
        client.get(url())  # the first request of a process fills caches (content types, the session): not counted
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url())
            assert response.status_code == 200, (name, response.status_code)
            if response.streaming:
                b"".join(response.streaming_content)
        counts[name] = len(queries.captured_queries)
    return counts


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker):
    """Per size: the campaign's size (labs, entries, emission rows, reports) and each page's query count. Each size
    is built in a transaction rolled back after it is measured."""
    out = {}
    settings = override_settings(PASSWORD_HASHERS=FAST_HASHERS, AUTHENTICATION_BACKENDS=[
        "tests.auth_backends.ForceLoginBackend", *django_settings.AUTHENTICATION_BACKENDS])
    with django_db_blocker.unblock(), settings:
        for labs, entries in SIZES:
            with transaction.atomic():
                build(labs, entries)
                out[labs] = {"entries": sum(spec.model.objects.count() for spec in load_order()),
                             "emissions": Emission.objects.count(), "reports": CarbonReport.objects.count(),
                             "queries": page_counts()}
                transaction.set_rollback(True)
    return out


def test_the_two_copies_differ_in_size(db, measured):
    small, large = (measured[labs] for labs, _ in SIZES)
    assert large["reports"] >= 2.5 * small["reports"]
    assert large["entries"] >= 3 * small["entries"] and large["emissions"] >= 3 * small["emissions"]
    assert small["entries"] >= 1_400  # every row of the small copy's files was imported


@pytest.mark.parametrize("page", list(PAGES))
def test_page_queries_do_not_grow_with_units_or_entries(db, measured, page):
    small, large = (measured[labs]["queries"][page] for labs, _ in SIZES)
    assert large == small, f"{page}: {small} queries at {SIZES[0][0]} labs, {large} at {SIZES[1][0]}"
    assert large <= CEILING[page]
