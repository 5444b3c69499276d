"""Generated permission matrix: every admin surface × role × scope × target (in / out of scope).

Expectations come from the rules of product.md §2/§6 written here as a small table, not from the
scoping code under test.
"""

import itertools

import pytest
from django.urls import reverse

from tests.factories import user_with_roles
from units.roles import Role, RoleSpecError, ScopeKind, parse_scope

# role claim → (kind of access in the back office, anchor)
ROLE_CASES = {
    "standard@own:IT4R": "calco2.user.standard@own:13032",
    "principal@unit:IT4R": "calco2.user.principal@unit:13032",
    "metier@affiliation:ENAC": "calco2.backoffice.metier@affiliation:13030",
    "auditor@affiliation:ENAC": "calco2.auditor@affiliation:13030",
    "auditor@global": "calco2.auditor@global",
    "admin@global": "calco2.backoffice.admin@global",
    "no-roles": None,
}
TARGETS = {"in-enac": "it4r", "outside": "sti_lab"}


def sees(case: str, target: str) -> bool:
    """Back-office read access: admin and global auditor see all; ENAC-scoped roles see ENAC's subtree."""
    if case in {"admin@global", "auditor@global"}:
        return True
    return case in {"metier@affiliation:ENAC", "auditor@affiliation:ENAC"} and target == "in-enac"


def is_backoffice(case: str) -> bool:
    return case.split("@")[0] in {"metier", "admin", "auditor"}


def edits(case: str) -> bool:
    return case == "admin@global"


SURFACES = ["unit_change", "unit_history", "unit_delete", "report_change", "report_history"]


def url_for(surface, units, target_key, reports):
    unit = units[TARGETS[target_key]]
    return {
        "unit_change": lambda: reverse("admin:units_unit_change", args=[unit.pk]),
        "unit_history": lambda: reverse("admin:units_unit_history", args=[unit.pk]),
        "unit_delete": lambda: reverse("admin:units_unit_delete", args=[unit.pk]),
        "report_change": lambda: reverse("admin:carbon_carbonreport_change", args=[reports[unit.pk].pk]),
        "report_history": lambda: reverse("admin:carbon_carbonreport_history", args=[reports[unit.pk].pk]),
    }[surface]()


def expected_status(case, surface, target):
    if not is_backoffice(case):
        return 302  # lab users and strangers are sent to the admin login
    if not sees(case, target):
        return 404  # out of scope: nothing is revealed
    if surface == "unit_delete":
        return 200 if edits(case) else 403
    return 200


MATRIX = list(itertools.product(ROLE_CASES, SURFACES, TARGETS))


@pytest.fixture
def campaign(tree, year):
    from carbon.models import CarbonReport

    reports = {r.unit_id: r for r in CarbonReport.objects.filter(year=2025)}
    return tree, reports


@pytest.mark.parametrize(("case", "surface", "target"), MATRIX, ids=["-".join(m) for m in MATRIX])
def test_admin_object_surfaces(client, campaign, case, surface, target):
    units, reports = campaign
    claim = ROLE_CASES[case]
    user = user_with_roles(*([claim] if claim else []))
    client.force_login(user)
    response = client.get(url_for(surface, units, target, reports))
    assert response.status_code == expected_status(case, surface, target)


@pytest.mark.parametrize("case", list(ROLE_CASES))
def test_units_changelist_shows_exactly_the_scope(client, tree, case):
    claim = ROLE_CASES[case]
    client.force_login(user_with_roles(*([claim] if claim else [])))
    response = client.get(reverse("admin:units_unit_changelist"))
    if not is_backoffice(case):
        assert response.status_code == 302
        return
    shown = {u.name for u in response.context["cl"].result_list}
    expected = {u.name for key, u in tree.items()
                if case in {"admin@global", "auditor@global"}
                or (is_backoffice(case) and key in {"enac", "sg", "it4r"})}
    assert shown == expected


@pytest.mark.parametrize("case", list(ROLE_CASES))
def test_unit_autocomplete_and_export_are_scoped(client, tree, case):
    claim = ROLE_CASES[case]
    client.force_login(user_with_roles(*([claim] if claim else [])))
    visible = {u.name for key, u in tree.items()
               if sees(case, "in-enac" if key in {"enac", "sg", "it4r"} else "outside")}
    autocomplete = client.get(reverse("admin:autocomplete"),
                              {"app_label": "units", "model_name": "unit", "field_name": "parent", "term": ""})
    export = client.post(reverse("admin:units_unit_export"),
                         {"format": "0", "resource": "0", "unitresource_name": "on"})
    if not is_backoffice(case):
        assert autocomplete.status_code in {302, 403}
        assert export.status_code == 302
        return
    assert {item["text"].split(" (")[0] for item in autocomplete.json()["results"]} == visible
    assert export.status_code == 200
    exported = export.content.decode("utf-8-sig").split()[1:]
    assert set(exported) == visible


@pytest.mark.parametrize(("role", "kind"), list(itertools.product(Role, ScopeKind)))
def test_each_role_takes_exactly_its_scope_kind(role, kind):
    valid = {
        Role.STANDARD: {ScopeKind.OWN},
        Role.PRINCIPAL: {ScopeKind.UNIT},
        Role.METIER: {ScopeKind.AFFILIATION},
        Role.ADMIN: {ScopeKind.GLOBAL},
        Role.AUDITOR: {ScopeKind.AFFILIATION, ScopeKind.GLOBAL},
    }[role]
    scope_text = "global" if kind is ScopeKind.GLOBAL else f"{kind}:13030"
    if kind in valid:
        assert parse_scope(role, scope_text).kind is kind
    else:
        with pytest.raises(RoleSpecError):
            parse_scope(role, scope_text)


@pytest.mark.parametrize("case", list(ROLE_CASES))
def test_api_me_requires_login_and_reports_roles(client, tree, case):
    assert client.get("/api/v1/me/").status_code == 403
    claim = ROLE_CASES[case]
    client.force_login(user_with_roles(*([claim] if claim else [])))
    body = client.get("/api/v1/me/").json()
    assert [r["role"] for r in body["roles"]] == ([claim.split("@")[0]] if claim else [])
