"""The demo loads idempotently, and its users see what their roles promise."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from carbon.models import CarbonReport, YearConfiguration
from units.models import Unit, User


# `demo` (conftest): the demo loaded once for this module, each test rolled back to it.
def test_demo_is_idempotent(demo):
    counts = (Unit.objects.count(), User.objects.count(), CarbonReport.objects.count(), Unit.history.count())
    call_command("load_demo", stdout=io.StringIO())  # the second load, rolled back with the test
    assert (Unit.objects.count(), User.objects.count(), CarbonReport.objects.count(),
            Unit.history.count()) == counts
    assert Unit.objects.filter(level=4).count() >= 12
    assert Unit.objects.filter(level=2).count() >= 2
    assert YearConfiguration.objects.get(year=2025).is_started


@pytest.mark.parametrize("login", ["demo-standard", "demo-principal", "demo-metier", "demo-admin", "demo-auditor"])
def test_demo_users_sign_in_with_demo_password(client, demo, login):
    response = client.post(reverse("login"), {"username": login, "password": "demo"})
    assert response.status_code == 302, login


def test_demo_metier_sees_exactly_enac(client, demo):
    client.post(reverse("admin:login"), {"username": "demo-metier", "password": "demo",
                                         "next": reverse("admin:index")})
    response = client.get(reverse("admin:units_unit_changelist") + "?all=")
    shown = {u.name for u in response.context["cl"].result_list}
    assert shown == set(Unit.objects.filter(path_name__startswith="EPFL ENAC").values_list("name", flat=True))
    sti = Unit.objects.get(name="STI")
    assert client.get(reverse("admin:units_unit_change", args=[sti.pk])).status_code == 404
    assert client.get(reverse("admin:units_unit_history", args=[sti.pk])).status_code == 404


def test_demo_principal_workspace_lists_labs(client, demo):
    client.post(reverse("login"), {"username": "demo-principal", "password": "demo"})
    page = client.get(reverse("lab:workspace")).content.decode()
    assert "IT4R" in page and "LCBM" in page and "LAI" in page
    units = client.get("/api/v1/units/").json()
    assert [(u["name"], u["role"]) for u in units] == [
        ("IT4R", "calco2.user.principal"), ("LCBM", "calco2.user.principal"), ("LAI", "calco2.user.standard")]


def test_the_demos_own_writes_name_their_origin(demo):
    """load_demo's direct writes (the year, validations) carry "command line: load_demo", never nothing."""
    from carbon.models import ModuleReport

    reasons = set(ModuleReport.history.filter(history_change_reason__contains="validated")
                  .values_list("history_change_reason", flat=True))
    assert reasons and all("command line: load_demo" in reason for reason in reasons), reasons
