"""The lab API as a lab uses it: entries of a kind created, listed, changed and deleted through the
registry-generated routes, rights on the row, validation with the import's messages, and results."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import Module
from modules.base import EntrySource
from modules.registry import KINDS
from modules.services import module_validate
from tests.campaign import import_csv

pytestmark = pytest.mark.django_db
PROCESS = KINDS["process_emission"].model
PLANE = KINDS["plane"].model
CF = "13032"


def url(kind, pk=None, cf=CF, year=2025):
    base = f"/api/v1/units/{cf}/years/{year}/entries/{kind}/"
    return base if pk is None else f"{base}{pk}/"


def test_a_principal_creates_lists_changes_and_deletes_a_process_emission(client, principal):
    client.force_login(principal)
    created = client.post(url("process_emission"), {"category": "CH4", "quantity": 2.5},
                          content_type="application/json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["category"] == "CH4" and body["kg_co2eq"] == "70.000000" and body["source"] == "user_manual"
    assert body["editable"] is True and body["module_reopened"] is False and body["warnings"] == []
    entry = PROCESS.objects.get(pk=body["id"])
    assert entry.created_by == principal and entry.kg_co2eq == Decimal("70")
    assert Emission.objects.get(entry_id=entry.pk, kind=50).kg_co2eq == Decimal("70")

    listing = client.get(url("process_emission")).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == entry.pk

    changed = client.patch(url("process_emission", entry.pk), {"quantity": "3"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["kg_co2eq"] == "84.000000"
    assert changed.json()["category"] == "CH4"  # the columns not sent are kept
    assert Emission.objects.get(entry_id=entry.pk, kind=50).kg_co2eq == Decimal("84")

    deleted = client.delete(url("process_emission", entry.pk))
    assert deleted.status_code == 200
    assert not PROCESS.objects.filter(pk=entry.pk).exists()
    assert not Emission.objects.filter(entry_id=entry.pk, kind=50).exists()
    module = ModuleReport.objects.get(report__unit__institutional_id=CF, report__year_id=2025,
                                      module=Module.process_emissions)
    assert module.stats["total"] == "0"


def test_bad_values_are_refused_with_the_imports_messages_and_nothing_is_written(client, principal, tmp_path,
                                                                                  capsys):
    client.force_login(principal)
    response = client.post(url("process_emission"), {"category": "CO2", "quantity": "-4"},
                           content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", "category,quantity\nCO2,-4\n", "--year", "2025", "--unit", CF)
    printed = capsys.readouterr().out
    assert f"row 1, column quantity: {body['errors']['quantity'][0]}" in printed
    assert not PROCESS.objects.exists()


@pytest.mark.parametrize("body, column, reason", [
    ({"category": "CO2"}, "quantity", "a value is required"),
    ({"category": "CO2", "quantity": "lots"}, "quantity", "'lots' is not a number"),
    ({"category": "=HYPERLINK(1)", "quantity": 1}, "category", "looks like a spreadsheet formula"),
    ({"category": "CO2", "quantity": {"a": 1}}, "quantity", "a text or a number is expected"),
])
def test_each_bad_value_names_its_column(client, principal, body, column, reason):
    client.force_login(principal)
    response = client.post(url("process_emission"), body, content_type="application/json")
    assert response.status_code == 400
    assert any(reason in message for message in response.json()["errors"][column]), response.json()
    assert not PROCESS.objects.exists()


def test_an_override_is_refused_for_a_kind_with_several_leaves(client, principal):
    client.force_login(principal)
    response = client.post(url("member"), {"name": "A", "sius_code": "51", "user_institutional_id": "1",
                                           "fte": "1", "kg_co2eq": "5"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["kg_co2eq"] == ["override not supported for this kind"]


def test_not_json_is_a_400_with_a_code(client, principal):
    client.force_login(principal)
    response = client.post(url("process_emission"), "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_an_edit_reopens_a_validated_module_and_the_report_says_who(client, principal):
    client.force_login(principal)
    client.post(url("process_emission"), {"category": "CO2", "quantity": 1}, content_type="application/json")
    validated = client.post(f"/api/v1/units/{CF}/years/2025/modules/process_emissions/validation/")
    assert validated.status_code == 200
    assert next(m for m in validated.json()["modules"] if m["module"] == "process_emissions")["status"] == "validated"
    created = client.post(url("process_emission"), {"category": "CO2", "quantity": 2}, content_type="application/json")
    assert created.json()["module_reopened"] is True
    report = client.get(f"/api/v1/units/{CF}/years/2025/").json()
    module = next(m for m in report["modules"] if m["module"] == "process_emissions")
    assert module["status"] == "in_progress"
    assert module["reopened"]["by"] == "Pat Principal" and "process_emission entered" in module["reopened"]["reason"]
    assert module["kg"] == "3.000"


def test_a_standard_user_sees_and_changes_only_their_own_trips(client, standard, principal):
    module_report = ModuleReport.objects.get(report__unit__institutional_id=CF, report__year_id=2025,
                                             module=Module.professional_travel)
    mine = PLANE.objects.create(module_report=module_report, user_institutional_id="200001", origin_iata="GVA",
                                destination_iata="CDG", cabin_class="economy")
    colleague = PLANE.objects.create(module_report=module_report, user_institutional_id="300003",
                                     origin_iata="GVA", destination_iata="LHR", cabin_class="economy")
    back_office_file = PLANE.objects.create(module_report=module_report, user_institutional_id="200001",
                                            origin_iata="GVA", destination_iata="JFK", cabin_class="economy",
                                            source=EntrySource.CSV_MODULE_PER_YEAR)
    client.force_login(standard)
    listing = client.get(url("plane")).json()
    assert {r["id"] for r in listing["results"]} == {mine.pk, back_office_file.pk}
    assert "LHR" not in str(listing)
    assert client.get(url("plane", colleague.pk)).status_code == 404
    assert client.delete(url("plane", colleague.pk)).status_code == 404
    assert PLANE.objects.filter(pk=colleague.pk).exists()
    refused = client.patch(url("plane", back_office_file.pk), {"cabin_class": "business"},
                           content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert PLANE.objects.get(pk=back_office_file.pk).cabin_class == "economy"
    assert client.get(url("process_emission")).status_code == 404  # not a kind a standard user enters
    assert client.post(f"/api/v1/units/{CF}/years/2025/modules/professional_travel/validation/").status_code == 403
    assert ModuleReport.objects.get(pk=module_report.pk).status != ModuleStatus.VALIDATED


def test_units_outside_ones_scope_do_not_exist(client, principal):
    client.force_login(principal)
    assert client.get(url("process_emission", cf="14011")).status_code == 404
    assert client.get("/api/v1/units/14011/years/2025/").status_code == 404
    response = client.post(url("process_emission", cf="14011"), {"category": "CO2", "quantity": 1},
                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not PROCESS.objects.exists()


def test_results_count_validated_modules_only(client, principal):
    client.force_login(principal)
    client.post(url("process_emission"), {"category": "CH4", "quantity": 1}, content_type="application/json")
    before = client.get(f"/api/v1/units/{CF}/years/2025/results/").json()
    assert before["total_kg"] is None
    module_validate(unit_cf=CF, year=2025, module=Module.process_emissions, actor=principal)
    after = client.get(f"/api/v1/units/{CF}/years/2025/results/").json()
    assert after["total_kg"] == "28.000"


def test_list_queries_do_not_grow_with_the_page(client, principal, django_assert_max_num_queries):
    module_report = ModuleReport.objects.get(report__unit__institutional_id=CF, report__year_id=2025,
                                             module=Module.process_emissions)
    client.force_login(principal)
    PROCESS.objects.bulk_create([PROCESS(module_report=module_report, category="CO2", quantity=i,
                                         created_by=principal) for i in range(3)])
    with django_assert_max_num_queries(20) as few:
        client.get(url("process_emission"))
    PROCESS.objects.bulk_create([PROCESS(module_report=module_report, category="CO2", quantity=i,
                                         created_by=principal) for i in range(150)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("process_emission") + "?page_size=100").json()["results"]) == 100


def test_a_script_with_a_token_creates_rows_marked_as_coming_from_the_api(client, principal):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("api_token", principal.institutional_id, stdout=out)
    token = out.getvalue().strip()
    response = client.post(url("process_emission"), {"category": "CO2", "quantity": 1},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201 and response.json()["source"] == "api_module_unit_specific"
    call_command("api_token", principal.institutional_id, "--revoke", stdout=io.StringIO())
    refused = client.get(url("process_emission"), HTTP_AUTHORIZATION=f"Token {token}")
    assert refused.status_code in (401, 403) and refused.json()["code"] == "authentication_failed"


def test_the_traveller_picker_offers_the_headcount_and_a_standard_user_only_themselves(client, principal, standard,
                                                                                       tmp_path):
    import_csv(tmp_path, "member", "name,sius_code,user_institutional_id,fte\nZoé Ärni,51,200001,1\n"
                                   "Bob Meier,52,300003,0.5\n", "--year", "2025", "--unit", CF)
    client.force_login(principal)
    picker = f"/api/v1/units/{CF}/years/2025/travellers/"
    assert [p["name"] for p in client.get(picker).json()] == ["Bob Meier", "Zoé Ärni"]
    assert [p["user_institutional_id"] for p in client.get(picker + "?q=arni").json()] == ["200001"]
    client.force_login(standard)
    assert client.get(picker).json() == [{"name": "Zoé Ärni", "user_institutional_id": "200001"}]


def test_a_unit_upload_is_checked_then_queued_and_its_errors_come_as_csv(client, principal, standard):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from carbon.jobs.models import Job

    upload = url("process_emission") + "upload/"

    def send(text, **extra):
        return client.post(upload, {"file": SimpleUploadedFile("p.csv", text.encode()), **extra})

    client.force_login(principal)
    bad = send("category,quantity\nCO2,1\nCO2,lots\n", dry_run="true")
    assert bad.status_code == 400 and bad.json()["failed"] is True
    assert bad.json()["errors"] == [{"row": 2, "column": "quantity", "reason": "'lots' is not a number"}]
    good = send("category,quantity\nCO2,1\nCH4,2\n", dry_run="true")
    assert good.status_code == 200 and good.json()["rows_valid"] == 2
    assert not PROCESS.objects.exists()  # a dry run writes nothing
    queued = send("category,quantity\nCO2,1\nCH4,2\n")
    assert queued.status_code == 202
    job = Job.objects.get(pk=queued.json()["job"])
    assert (job.kind, job.unit_cf, job.year, job.created_by) == ("process_emission", CF, 2025, principal)
    assert client.get(queued.json()["progress"]).json()["id"] == job.pk

    Job.objects.filter(pk=job.pk).update(errors=[{"row": 3, "column": "quantity", "reason": "=bad"}])
    errors_csv = client.get(f"/api/v1/jobs/{job.pk}/errors.csv")
    assert errors_csv.content.decode("utf-8-sig").splitlines() == ["severity,row,column,reason",
                                                                   "error,3,quantity,'=bad"]
    client.force_login(standard)
    assert client.get(f"/api/v1/jobs/{job.pk}/errors.csv").status_code == 404  # not their job
    refused = client.post(url("plane") + "upload/", {"file": SimpleUploadedFile("p.csv", b"x")})
    assert refused.status_code == 403


def test_an_unknown_api_address_answers_in_the_api_shape(client, principal):
    client.force_login(principal)
    response = client.get("/api/v1/jobs/-1/")
    assert response.status_code == 404 and response.json() == {"code": "not_found", "detail": "Not found."}
    assert client.get("/no-such-page/").status_code == 404


def test_a_nul_character_is_refused_in_a_csv_cell_and_a_json_cell_alike(client, principal, tmp_path, capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", "category,quantity,note\nCO2,1,a\x00b\n", "--year", "2025",
                   "--unit", CF)
    assert "row 1, column note: a NUL character is not allowed" in capsys.readouterr().out
    client.force_login(principal)
    response = client.post(url("process_emission"), {"category": "CO2", "quantity": 1, "note": "a\x00b"},
                           content_type="application/json")
    assert response.json()["errors"]["note"] == ["a NUL character is not allowed"]
    assert client.get(f"/labs/{CF}/2025/process_emissions/?process_emission-search=a%00b").status_code == 200
    assert not PROCESS.objects.exists()
