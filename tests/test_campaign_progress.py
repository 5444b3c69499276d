"""The campaign view in plain words (each missing item a sentence linked to the upload form with its kind and
year), the short refusal to open, and the campaign progress page (labs × modules, validations over time,
footprint against the objectives), on the demo, over roles × scopes.

Demo 2025 (fixtures/demo/2025/validated.csv and the entry files): 13 labs × 8 modules = 104 cells; 6 modules
validated (IT4R 2, LCBM 1, APRL 3), 28 not started (LASTRO, LPI and STI-LAB have no data: 24; EESD, LAI 1 each;
LMC 2), 70 in progress.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse

from carbon.models import Emission, ReductionObjective, YearConfiguration
from carbon.services import year_create, year_open
from factors.base import FACTOR_KINDS
from reporting.campaign import year_missing
from tests.factories import user_with_roles
from units.models import Unit

ADMIN = "calco2.backoffice.admin@global"
ALL_LABS = {"13032", "13033", "13034", "13035", "13036", "14011", "14012", "14021", "14022", "14511", "14512",
            "14521", "14522"}
ENAC_LABS = {"13032", "13033", "13034", "13035", "13036"}
STI_LABS = {"14011", "14012", "14021", "14022"}

# role claim → the labs the matrix lists (None: 403)
ROLE_CASES = {
    "admin@global": (ADMIN, ALL_LABS),
    "metier@affiliation:EPFL": ("calco2.backoffice.metier@affiliation:10000", ALL_LABS),
    "metier@affiliation:ENAC": ("calco2.backoffice.metier@affiliation:13030", ENAC_LABS),
    "metier@affiliation:STI": ("calco2.backoffice.metier@affiliation:14000", STI_LABS),
    "metier@affiliation:ENAC+STI": ("calco2.backoffice.metier@affiliation:13030", ENAC_LABS | STI_LABS),
    "auditor@global": ("calco2.auditor@global", None),
    "principal@unit:IT4R": ("calco2.user.principal@unit:13032", None),
    "standard@own:IT4R": ("calco2.user.standard@own:13032", None),
}
# The filter narrows within the scope, never widens it: (role case, affiliation filter) → labs.
FILTER_CASES = [
    ("admin@global", "13030", ENAC_LABS),
    ("admin@global", "14010", {"14011", "14012"}),
    ("metier@affiliation:ENAC", "13030", ENAC_LABS),
    ("metier@affiliation:ENAC", "13120", {"13035", "13036"}),
    ("metier@affiliation:ENAC", "14000", set()),  # another faculty: nothing, not STI
    ("metier@affiliation:ENAC", "10000", ENAC_LABS),  # the institution: still ENAC only
]


def progress(client, **query):
    return client.get(reverse("reporting-progress"), {"year": 2025, **query})


def listed_labs(body: str) -> set[str]:
    return set(re.findall(r'<tr class="progress-row" data-cf="(\d+)"', body))


def user_for(case: str):
    claim, _labs = ROLE_CASES[case]
    claims = [claim] + (["calco2.backoffice.metier@affiliation:14000"] if case.endswith("ENAC+STI") else [])
    return user_with_roles(*claims)


# --- campaign view in plain words ----------------------------------------------------------------------------
def test_a_new_year_lists_what_is_missing_in_plain_words_with_upload_links(client, demo):
    year_create(year=2026)
    missing = year_missing(YearConfiguration.objects.get(year=2026))
    assert {m.name for m in missing} == set(FACTOR_KINDS)  # the demo has its reference data: factors only
    plane = next(m for m in missing if m.name == "plane")
    assert plane.sentence() == "No plane factors for 2026 — upload them."
    assert plane.url == "/admin/upload/?kind=factors%3Aplane&year=2026"
    client.force_login(user_with_roles(ADMIN))
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2026])).content.decode()
    assert "15 things are missing before the year can be opened:" in page
    assert '<a href="/admin/upload/?kind=factors%3Aplane&amp;year=2026">No plane factors for 2026 — upload them.</a>' \
        in page
    assert "missing_factor" not in page
    # The link opens the upload form with the kind and the year chosen.
    form = client.get(plane.url).content.decode()
    assert re.search(r'<option value="factors:plane" selected>', form)
    assert re.search(r'<option value="2026" selected>', form)


def test_opening_is_refused_with_a_short_list(client, demo):
    year_create(year=2026)
    with pytest.raises(ValidationError) as refused:
        year_open(year=2026)
    message = " ".join(refused.value.messages)
    assert message.startswith("Year 2026 cannot be opened. 15 things are missing: No ")
    assert message.endswith("… and 12 more (the year's page lists them all).")
    assert message.count("— upload them.") == 3
    client.force_login(user_with_roles(ADMIN))
    response = client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                           {"action": "open_selected_years", "_selected_action": ["2026"]}, follow=True)
    assert "15 things are missing" in response.content.decode()
    assert not YearConfiguration.objects.get(year=2026).is_started


def test_missing_reference_data_links_to_its_upload(demo):
    from factors.models import BuildingRoom

    BuildingRoom.objects.all().delete()
    missing = year_missing(YearConfiguration.objects.get(year=2025))
    assert [(m.sentence(), m.url) for m in missing] == [
        ("No building rooms — upload them.", "/admin/upload/?kind=building_rooms")]


def test_the_campaign_view_speaks_french(client, demo):
    from django.utils import translation

    year_create(year=2026)
    plane = next(m for m in year_missing(YearConfiguration.objects.get(year=2026)) if m.name == "plane")
    with translation.override("fr"):
        sentence = plane.sentence()
    assert sentence != plane.sentence() and "2026" in sentence


# --- the progress page -----------------------------------------------------------------------------------
def test_the_matrix_counts_on_the_demo(client, demo):
    client.force_login(user_with_roles(ADMIN))
    response = progress(client)
    assert response.status_code == 200
    body = response.content.decode()
    assert listed_labs(body) == ALL_LABS
    counts = dict(re.findall(r'<tr class="progress-[\w-]+"><td[^>]*>\S+ ([\w ]+)</td><td>(\d+)</td>', body))
    assert counts == {"not started": "28", "in progress": "70", "validated": "6"}
    assert "<td>104</td>" in body
    assert response.context["validated_per_module"] == [2, 1, 1, 0, 1, 1, 0, 0]
    it4r = re.search(r'data-cf="13032">(.*?)</tr>', body, re.S).group(1)
    cells = re.findall(r'<td class="progress-[\w-]+"[^>]*>\S+ ([\w ]+)</td>', it4r)
    assert cells == ["validated", "validated"] + ["in progress"] * 6  # headcount, travel validated
    assert "<td>2/8</td>" in it4r
    assert '<a href="/labs/13032/2025/results/">IT4R</a>' in it4r


def test_the_affiliation_filter_narrows_counts(client, demo):
    client.force_login(user_with_roles("calco2.backoffice.metier@affiliation:13030"))
    body = progress(client).content.decode()
    counts = dict(re.findall(r'<tr class="progress-[\w-]+"><td[^>]*>\S+ ([\w ]+)</td><td>(\d+)</td>', body))
    assert counts == {"not started": "1", "in progress": "33", "validated": "6"}
    body = progress(client, affiliation="13110").content.decode()  # IIC: EESD and LCBM
    counts = dict(re.findall(r'<tr class="progress-[\w-]+"><td[^>]*>\S+ ([\w ]+)</td><td>(\d+)</td>', body))
    assert counts == {"not started": "1", "in progress": "14", "validated": "1"}


@pytest.mark.parametrize("case", list(ROLE_CASES))
def test_the_matrix_shows_only_the_scope(client, demo, case):
    client.force_login(user_for(case))
    response = progress(client)
    expected = ROLE_CASES[case][1]
    if expected is None:
        assert response.status_code == 403
        assert "data-cf" not in response.content.decode()
        return
    assert response.status_code == 200
    assert listed_labs(response.content.decode()) == expected


@pytest.mark.parametrize(("case", "affiliation", "expected"), FILTER_CASES)
def test_the_filter_never_widens_the_scope(client, demo, case, affiliation, expected):
    client.force_login(user_for(case))
    body = progress(client, affiliation=affiliation).content.decode()
    assert listed_labs(body) == expected


def test_the_anonymous_are_sent_to_the_login_page(client, demo):
    response = progress(client)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.force_login(user_with_roles(ADMIN))
    assert client.post(reverse("reporting-progress")).status_code == 405


def test_validations_over_time_and_the_trajectory(client, demo):
    ReductionObjective.objects.create(year_id=2025, reference_year=2025, target_year=2030,
                                      reduction_percentage=Decimal("0.4"))
    client.force_login(user_with_roles(ADMIN))
    response = progress(client)
    body = response.content.decode()
    assert response.context["per_day"][0][1] == 6 and len(response.context["per_day"]) == 1
    assert '<figure role="img" aria-label="Module validations per day" id="chart-validations"><svg' in body
    path = response.context["trajectory"]
    total = Emission.objects.filter(year=2025).aggregate(kg=Sum("kg_co2eq"))["kg"]
    assert (path.years[0].year, path.years[0].all_kg) == (2025, total) == (2025, Decimal("416419.472497"))
    assert path.years[0].validated_kg == Decimal("25881.798575")
    assert path.objectives[0].target_kg == total * Decimal("0.6")
    assert 'id="chart-trajectory"><svg' in body
    assert "Objective: −40 % by 2030 against 2025" in body  # the chart's legend
    # A faculty's footprint is the sum of its labs' rows.
    client.force_login(user_with_roles("calco2.backoffice.metier@affiliation:13030"))
    enac = progress(client).context["trajectory"].years[0].all_kg
    enac_units = Unit.objects.filter(path_institutional_code__regex=r"(^| )12635( |$)")
    assert enac == Emission.objects.filter(year=2025, unit__in=enac_units).aggregate(kg=Sum("kg_co2eq"))["kg"]
    assert 0 < enac < total
