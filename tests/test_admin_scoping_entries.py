"""Entries, emission rows and factors in the admin, generated over the registry × roles × in/out of scope."""

import itertools

import pytest
from django.urls import reverse

from carbon.models import Emission
from modules.registry import KINDS
from tests.campaign import import_csv
from tests.factories import user_with_roles

ROLES = {
    "metier@ENAC": "calco2.backoffice.metier@affiliation:13030",
    "auditor@ENAC": "calco2.auditor@affiliation:13030",
    "admin": "calco2.backoffice.admin@global",
    "principal@IT4R": "calco2.user.principal@unit:13032",
}


@pytest.fixture
def data(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n13032,CO2,1\n14011,CO2,2\n",
               "--year", "2025")
    model = KINDS["process_emission"].model
    return {"in": model.objects.get(module_report__report__unit__institutional_id="13032"),
            "out": model.objects.get(module_report__report__unit__institutional_id="14011")}


def expected(role: str, where: str) -> int:
    if role.startswith("principal"):
        return 302  # lab users have no admin
    return 200 if role == "admin" or where == "in" else 404


@pytest.mark.parametrize(("role", "where"), list(itertools.product(ROLES, ["in", "out"])))
def test_entry_and_emission_pages_follow_the_scope(client, data, role, where):
    client.force_login(user_with_roles(ROLES[role]))
    entry = data[where]
    url = reverse("admin:modules_processemission_change", args=[entry.pk])
    assert client.get(url).status_code == expected(role, where)
    emission = Emission.objects.get(kind=50, entry_id=entry.pk)
    assert client.get(reverse("admin:carbon_emission_change", args=[emission.pk])).status_code == \
        expected(role, where)
    listing = client.get(reverse("admin:modules_processemission_changelist"))
    if role.startswith("principal"):
        assert listing.status_code == 302
    else:
        shown = {e.pk for e in listing.context["cl"].result_list}
        assert (entry.pk in shown) is (expected(role, where) == 200)


@pytest.mark.parametrize("role", list(ROLES))
def test_factors_are_read_by_the_back_office_and_written_by_the_admin_only(client, data, role):
    from factors.models import ProcessEmissionFactor

    factor = ProcessEmissionFactor.objects.get()
    client.force_login(user_with_roles(ROLES[role]))
    url = reverse("admin:factors_processemissionfactor_change", args=[factor.pk])
    response = client.post(url, {"year": 2025, "category": "CO2", "subcategory": "", "unit": "",
                                 "ef_kg_co2eq_per_unit": "9"})
    factor.refresh_from_db()
    if role == "admin":
        assert response.status_code == 302 and factor.ef_kg_co2eq_per_unit == 9
    else:
        assert response.status_code in {302, 403} and factor.ef_kg_co2eq_per_unit == 1
        if role != "principal@IT4R":
            assert client.get(url).status_code == 200  # read-only view


def test_a_negative_factor_is_refused_in_the_admin_form(client, data):
    from factors.models import ProcessEmissionFactor

    factor = ProcessEmissionFactor.objects.get()
    client.force_login(user_with_roles(ROLES["admin"]))
    response = client.post(reverse("admin:factors_processemissionfactor_change", args=[factor.pk]),
                           {"year": 2025, "category": "CO2", "subcategory": "", "unit": "",
                            "ef_kg_co2eq_per_unit": "-1"})
    assert response.status_code == 200 and "greater than or equal to 0" in response.content.decode()
    factor.refresh_from_db()
    assert factor.ef_kg_co2eq_per_unit == 1
