"""The lab pages as people use them: overview, a module's tables, the entry form (the API serializer's
rules, errors next to the field), delete, validation, CSV upload with preview, language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from carbon.jobs.models import Job
from carbon.models import ModuleReport, ModuleStatus
from carbon.taxonomy import Module
from modules.base import EntrySource
from modules.registry import KINDS

pytestmark = pytest.mark.django_db
PROCESS = KINDS["process_emission"].model
PLANE = KINDS["plane"].model
CF = "13032"
LAB = f"/labs/{CF}/2025/"


def module_report(module):
    return ModuleReport.objects.get(report__unit__institutional_id=CF, report__year_id=2025, module=module)


def test_the_workspace_links_to_the_overview_of_each_open_year(client, principal):
    client.force_login(principal)
    page = client.get("/").content.decode()
    assert f'href="{LAB}"' in page
    overview = client.get(LAB).content.decode()
    assert "0 of 8 modules validated" in overview and "Process emissions" in overview


def test_a_principal_adds_a_row_through_the_form_and_sees_it_in_the_table(client, principal):
    client.force_login(principal)
    form = client.get(LAB + "process_emissions/process_emission/new/")
    assert form.status_code == 200 and 'name="quantity"' in form.content.decode()
    response = client.post(LAB + "process_emissions/process_emission/new/", {"category": "CH4", "quantity": "2"})
    assert response.status_code == 302 and response["Location"] == LAB + "process_emissions/"
    entry = PROCESS.objects.get()
    assert entry.kg_co2eq == Decimal("56") and entry.source == EntrySource.USER_MANUAL
    table = client.get(LAB + "process_emissions/").content.decode()
    assert "CH4" in table and "56" in table and "Saved." in table


def test_a_bad_value_is_shown_next_to_its_field_with_the_imports_message(client, principal):
    client.force_login(principal)
    response = client.post(LAB + "process_emissions/process_emission/new/", {"category": "CO2", "quantity": "lots"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="field-quantity-error">&#x27;lots&#x27; is not a number' in page
    assert 'aria-invalid="true"' in page and "autofocus" in page and 'href="#field-quantity"' in page
    assert not PROCESS.objects.exists()


def test_edit_delete_and_the_module_going_back_to_in_progress(client, principal):
    client.force_login(principal)
    client.post(LAB + "process_emissions/process_emission/new/", {"category": "CO2", "quantity": "5"})
    entry = PROCESS.objects.get()
    assert client.post(LAB + "process_emissions/validation/").status_code == 302
    assert module_report(Module.process_emissions).status == ModuleStatus.VALIDATED
    client.post(LAB + f"process_emissions/process_emission/{entry.pk}/", {"category": "CO2", "quantity": "7"})
    entry.refresh_from_db()
    assert entry.quantity == Decimal("7") and entry.kg_co2eq == Decimal("7")
    page = client.get(LAB + "process_emissions/").content.decode()
    assert "Back in progress since" in page and "Pat Principal" in page
    assert client.get(LAB + f"process_emissions/process_emission/{entry.pk}/delete/").status_code == 200
    client.post(LAB + f"process_emissions/process_emission/{entry.pk}/delete/")
    assert not PROCESS.objects.exists()


def test_a_standard_user_sees_only_their_travel_and_cannot_validate(client, standard):
    travel = module_report(Module.professional_travel)
    PLANE.objects.create(module_report=travel, user_institutional_id="200001", origin_iata="GVA",
                         destination_iata="CDG", cabin_class="economy", note="MINE")
    PLANE.objects.create(module_report=travel, user_institutional_id="300003", origin_iata="GVA",
                         destination_iata="LHR", cabin_class="economy", note="THEIRS")
    client.force_login(standard)
    page = client.get(LAB + "professional_travel/").content.decode()
    assert "CDG" in page and "LHR" not in page
    assert client.get(LAB + "process_emissions/").status_code == 404
    assert client.get(LAB + "professional_travel/validation/").status_code == 403
    overview = client.get(LAB).content.decode()
    assert "Process emissions" not in overview.split('class="lab-nav"')[1].split("</nav>")[0]


def test_a_principal_imports_a_file_after_fixing_its_bad_row(client, principal):
    client.force_login(principal)
    upload = LAB + "process_emissions/process_emission/upload/"
    bad = client.post(upload, {"file": SimpleUploadedFile("gas.csv", b"category,quantity\nCO2,1\nCO2,x\n")})
    preview = client.get(bad["Location"]).content.decode()
    assert "is not a number" in preview and "Import these rows" not in preview
    client.post(bad["Location"], {"cancel": "1"})
    good = client.post(upload, {"file": SimpleUploadedFile("gas.csv", b"category,quantity\nCO2,1\nCO2,3\n")})
    assert "2 rows are ready to be imported." in client.get(good["Location"]).content.decode()
    confirmed = client.post(good["Location"], {"confirm": "1"})
    job = Job.objects.get()
    assert confirmed["Location"] == LAB + f"jobs/{job.pk}/" and job.unit_cf == CF
    assert client.get(confirmed["Location"]).status_code == 200


def test_the_language_switch_shows_french_and_is_remembered_on_the_user(client, principal):
    client.force_login(principal)
    switched = client.post("/language/", {"language": "fr"}, HTTP_REFERER="http://testserver" + LAB)
    assert switched.status_code == 302 and switched["Location"] == "http://testserver" + LAB
    principal.refresh_from_db()
    assert principal.language == "fr"
    assert '<html lang="fr">' in client.get(LAB).content.decode()


def test_other_labs_do_not_exist(client, principal):
    client.force_login(principal)
    assert client.get("/labs/14011/2025/").status_code == 404
    assert client.get("/labs/14011/2025/process_emissions/").status_code == 404
    assert client.post("/labs/14011/2025/process_emissions/process_emission/new/",
                       {"category": "CO2", "quantity": "1"}).status_code == 404
    assert not PROCESS.objects.exists()


def test_a_lab_user_who_opens_the_back_office_is_told_where_to_go(client, standard):
    client.force_login(standard)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    page = response.content.decode()
    assert "The back office is for the campaign team" in page and 'href="/"' in page
