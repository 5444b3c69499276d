"""No side door around the scoping function: workspace, entries (row ownership), exports and importers."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from carbon.models import ModuleReport
from carbon.services import year_create
from carbon.taxonomy import Module
from modules.registry import KINDS
from modules.selectors import entries_for
from reporting.selectors import results_rows, usage_rows
from tests.campaign import write_csv
from tests.factories import user_with_roles
from units.models import Unit
from units.roles import Role
from units.scoping import NOT_ALLOWED_TO_IMPORT, Action, lab_memberships

PLANE = KINDS["plane"].model
PROCESS = KINDS["process_emission"].model


@pytest.fixture
def campaign(tree):
    year_create(year=2025)
    return tree


def _plane(unit_cf: str, traveller: str, created_by=None):
    module_report = ModuleReport.objects.get(report__year_id=2025, report__unit__institutional_id=unit_cf,
                                             module=Module.professional_travel)
    return PLANE.objects.create(module_report=module_report, user_institutional_id=traveller, origin_iata="GVA",
                                destination_iata="CDG", cabin_class="economy", created_by=created_by)


def test_the_workspace_is_the_lab_scope_with_the_role_it_gives(campaign):
    user = user_with_roles("calco2.user.principal@unit:13032", "calco2.user.standard@own:14011",
                           "calco2.backoffice.metier@affiliation:13030")
    assert [(m.unit.name, m.role) for m in lab_memberships(user)] == [("IT4R", Role.PRINCIPAL),
                                                                        ("STI-LAB", Role.STANDARD)]
    Unit.objects.filter(institutional_id="14011").update(is_active=False)
    assert [m.unit.name for m in lab_memberships(user)] == ["IT4R"]
    assert lab_memberships(user_with_roles("calco2.backoffice.admin@global")) == []  # the back office is no lab


def test_a_standard_user_reads_only_their_own_rows_and_a_principal_the_whole_lab(campaign):
    standard = user_with_roles("calco2.user.standard@own:13032", institutional_id="200001")
    principal = user_with_roles("calco2.user.principal@unit:13032")
    mine_as_traveller = _plane("13032", "200001")
    mine_as_creator = _plane("13032", "300003", created_by=standard)
    colleague = _plane("13032", "300003")
    other_lab = _plane("14011", "200001")  # the same traveller id, in a lab where they have no role
    spec = KINDS["plane"]

    assert set(entries_for(spec, standard)) == {mine_as_traveller, mine_as_creator}
    assert set(entries_for(spec, standard, Action.EDIT_LAB)) == {mine_as_traveller, mine_as_creator}
    assert set(entries_for(spec, principal)) == {mine_as_traveller, mine_as_creator, colleague}
    assert other_lab not in set(entries_for(spec, principal))
    assert not entries_for(spec, user_with_roles("calco2.backoffice.metier@affiliation:13030")).exists()
    # A kind standard users may not enter: none of it, not even rows they created.
    module_report = ModuleReport.objects.get(report__year_id=2025, report__unit__institutional_id="13032",
                                             module=Module.process_emissions)
    PROCESS.objects.create(module_report=module_report, category="CO2", quantity=1, created_by=standard)
    assert not entries_for(KINDS["process_emission"], standard).exists()
    assert entries_for(KINDS["process_emission"], principal).count() == 1


def test_exports_have_no_default_scope(campaign):
    with pytest.raises(TypeError):
        results_rows(year=2025)
    with pytest.raises(TypeError):
        usage_rows(year=2025)
    enac = Unit.objects.filter(path_name__contains="ENAC")
    assert {row["unit_institutional_id"] for row in results_rows(year=2025, units=enac)} == {"13030", "13100",
                                                                                            "13032"}


def test_importers_check_the_actor_when_there_is_one(campaign, tmp_path):
    from infra.importing import ImportRequest, get_importer

    factors = write_csv(tmp_path, "f.csv", "category,ef_kg_co2eq_per_unit\nCO2,1\n").read_bytes()
    unit_file = b"category,quantity\nCO2,1\n"
    per_year = b"unit_institutional_id,category,quantity\n13032,CO2,1\n"
    principal = user_with_roles("calco2.user.principal@unit:13032")
    metier = user_with_roles("calco2.backoffice.metier@affiliation:13030")
    admin = user_with_roles("calco2.backoffice.admin@global")

    def run(kind, content, actor, unit_cf=None):
        return get_importer(kind).run(ImportRequest(source=content, year=2025, unit_cf=unit_cf, actor=actor))

    for actor in (principal, metier):
        refused = run("factors:process_emission", factors, actor)
        assert [e.reason for e in refused.errors] == [NOT_ALLOWED_TO_IMPORT]
        assert [e.reason for e in run("process_emission", per_year, actor).errors] == [NOT_ALLOWED_TO_IMPORT]
        assert [e.reason for e in run("units", b"institutional_code\n", actor).errors] == [NOT_ALLOWED_TO_IMPORT]
    assert not run("factors:process_emission", factors, admin).errors
    # A unit's own file: its principal may, a principal of another lab may not.
    assert not run("process_emission", unit_file, principal, unit_cf="13032").errors
    assert [e.reason for e in run("process_emission", unit_file, principal, unit_cf="14011").errors] == \
        [NOT_ALLOWED_TO_IMPORT]
    assert PROCESS.objects.filter(module_report__report__unit__institutional_id="13032").count() == 1
    # The operator's command line without --actor is not scoped.
    call_command("import_csv", "process_emission", str(write_csv(tmp_path, "p.csv", per_year.decode())),
                 "--year", "2025")
