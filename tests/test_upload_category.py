"""What an upload says and the file does not: the category (submodule) of a purchase or equipment file, from the
command line (`--category`), the admin upload form and the lab upload page; and the one template-row rule of
files, which a row sent to the API never meets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from carbon.jobs import upload_forms
from carbon.jobs.models import Job, Pipeline
from carbon.jobs.runner import run_job
from infra.importing import template_row_reason
from modules.equipment.models import Equipment
from modules.process.models import ProcessEmission
from modules.purchases.models import Purchase
from modules.registry import KINDS
from modules.rows import EntryInvalid, single_row_values
from tests.campaign import import_csv, write_csv
from tests.factories import user_with_roles

UPSTREAM = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"
SERVICES_TEMPLATE = (UPSTREAM / "purchases_services_template.csv").read_bytes()  # code 73152100, no category column
PER_YEAR = "unit_institutional_id,purchase_category,name,total_spent_amount,purchase_institutional_code\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- the command line ------------------------------------------------------------------------------------
def test_a_per_category_template_imports_with_its_category_and_the_no_factor_warning(tmp_path, year, capsys):
    path = tmp_path / "purchases_services_template.csv"
    path.write_bytes(SERVICES_TEMPLATE)
    call_command("import_csv", "purchase", str(path), "--year", "2025", "--unit", "13032", "--category", "services")
    out = capsys.readouterr().out
    assert "warning: row 1, column purchase_institutional_code: no purchase factor for code '73152100' in 2025" in out
    purchase = Purchase.objects.get()
    assert (purchase.purchase_category, purchase.total_spent_amount, purchase.currency, purchase.kg_co2eq) == (
        "services", Decimal("72.92"), "CHF", None)


def test_the_category_fills_only_empty_cells_and_a_row_naming_another_is_an_error(tmp_path, year, capsys):
    text = PER_YEAR + "13032,,Courier,10,73152100\n13032,vehicles,Van,20000,25150000\n"
    with pytest.raises(CommandError):
        import_csv(tmp_path, "purchase", text, "--year", "2025", "--category", "services")
    assert ("error: row 2, column purchase_category: the row says 'vehicles' but the file is uploaded as 'services'"
            in capsys.readouterr().out)
    assert not Purchase.objects.exists()
    import_csv(tmp_path, "purchase", text.replace("vehicles", "Services"), "--year", "2025", "--category", "services")
    assert sorted(Purchase.objects.values_list("name", "purchase_category")) == [
        ("Courier", "services"), ("Van", "services")]


@pytest.mark.parametrize(("kind", "category", "message"), [
    ("process_emission", "services", "process_emission files take no --category"),
    ("purchase", "food", "--category must be one of: scientific_equipment, it_equipment, consumable_accessories, "
                         "biological_chemical_gaseous_product, services, vehicles, other_purchases"),
    ("equipment", "services", "--category must be one of: scientific, it, other"),
])
def test_a_category_the_kind_does_not_have_is_refused_before_reading(tmp_path, year, kind, category, message):
    path = write_csv(tmp_path, "x.csv", "unused\n")
    with pytest.raises(CommandError, match=message):
        call_command("import_csv", kind, str(path), "--year", "2025", "--category", category)


def test_an_equipment_file_without_categories_takes_the_upload_s(tmp_path, year, capsys):
    text = "unit_institutional_id,equipment_id,name,equipment_class\n13032,B1,Centrifuge,Nothing like it\n"
    with pytest.raises(CommandError):  # no factor for that class tells the category
        import_csv(tmp_path, "equipment", text, "--year", "2025")
    assert "equipment_category is empty and no factor for class 'Nothing like it' tells it" in capsys.readouterr().out
    import_csv(tmp_path, "equipment", text, "--year", "2025", "--category", "scientific")
    assert "no equipment factor for (scientific, Nothing like it, *)" in capsys.readouterr().out
    assert list(Equipment.objects.values_list("equipment_category", "kg_co2eq")) == [("scientific", None)]


# --- the admin upload --------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_the_admin_upload_passes_the_chosen_category_to_the_check_and_the_job(client, year, monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, job_id, **kw: dispatched.append(job_id))
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    form = client.get(reverse("upload:form")).content.decode()
    assert 'value="purchase:services"' in form and 'value="equipment:other"' in form
    response = client.post(reverse("upload:form"), {
        "kind": "purchase", "year": 2025, "unit_cf": "13032", "category": "purchase:services",
        "file": SimpleUploadedFile("services.csv", SERVICES_TEMPLATE, content_type="text/csv")})
    token = response["Location"].rstrip("/").split("/")[-1]
    preview = client.get(reverse("upload:preview", args=[token]))
    assert preview.context["result"]["failed"] is False
    assert "services (fills the rows' empty category cells)" in preview.content.decode()
    client.post(reverse("upload:confirm", args=[token]))
    job = Pipeline.objects.get().jobs.get()
    assert job.options == {"skip_invalid": False, "allow_empty": False, "category": "services"}
    while dispatched:
        run_job(dispatched.pop(0))
    assert list(Purchase.objects.values_list("purchase_category", flat=True)) == ["services"]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_category_of_another_kind(tree):
    form = upload_forms.UploadForm(data={"kind": "process_emission", "year": "", "category": "purchase:services"},
                                   files={"file": SimpleUploadedFile("x.csv", b"category,quantity\n")})
    assert not form.is_valid()
    assert form.errors["category"] == ["purchase: services is a category of purchase files, not of "
                                       "process_emission files."]


# --- the lab upload page -----------------------------------------------------------------------------------
def test_the_lab_upload_page_offers_the_categories_and_imports_with_the_chosen_one(client, principal):
    client.force_login(principal)
    upload = "/labs/13032/2025/purchase/purchase/upload/"
    page = client.get(upload).content.decode()
    assert '<select id="upload-category" name="category"' in page and '<option value="services">Services' in page
    assert "upload-category" not in client.get("/labs/13032/2025/process_emissions/process_emission/upload/")\
        .content.decode()
    refused = client.post(upload, {"file": SimpleUploadedFile("s.csv", SERVICES_TEMPLATE)})
    preview = client.get(refused["Location"]).content.decode()
    assert "purchase_category is empty and no factor for code" in preview and "Import these rows" not in preview
    client.post(refused["Location"], {"cancel": "1"})
    assert client.post(upload, {"file": SimpleUploadedFile("s.csv", SERVICES_TEMPLATE), "category": "food"}
                       ).status_code == 400
    checked = client.post(upload, {"file": SimpleUploadedFile("s.csv", SERVICES_TEMPLATE), "category": "services"})
    preview = client.get(checked["Location"]).content.decode()
    assert "1 row is ready to be imported." in preview
    assert "Category of the rows that leave it empty: Services" in preview
    client.post(checked["Location"], {"confirm": "1"})
    assert Job.objects.get().options["category"] == "services"


# --- template rows: files only ------------------------------------------------------------------------------
HEADER = ("category", "subcategory", "quantity", "note", "kg_co2eq")


@pytest.mark.parametrize(("values", "reason"), [
    ({"category": "CH4"}, "a template row: no quantity, kg_co2eq (fill it in to import the row)"),
    ({"category": "Refrigerant", "subcategory": "R134a", "note": "to fill"}, "a template row: no quantity"),
    ({"category": "The station name must be entered in the station’s local language", "quantity": "1"},
     "an instruction line of the template, not data"),
    ({"category": "CO2", "quantity": "0"}, None),  # 0 is a measured value
    ({"category": "CO2", "quantity": "", "kg_co2eq": "5"}, None),  # an override is one too
])
def test_the_template_row_rule(values, reason):
    got = template_row_reason(dict.fromkeys(HEADER, "") | values, header=HEADER,
                              measured=("quantity", "kg_co2eq"), required=("category", "quantity"))
    assert (got or "").startswith(reason or "") and (got is None) == (reason is None)


def test_only_the_first_cell_is_an_instruction_line_unless_the_row_is_complete():
    header = ("fte", "note")  # a student file: its only required cell may well be the only one filled
    assert template_row_reason({"fte": "3", "note": ""}, header=header, measured=(), required=("fte",)) is None
    header = ("origin_name", "origin_country_code", "destination_name")
    assert template_row_reason({"origin_name": "Please use local names", "origin_country_code": "",
                                "destination_name": ""}, header=header, measured=(),
                               required=header) == ("an instruction line of the template (only the first cell is "
                                                    "filled), not data")


def test_a_row_sent_to_the_api_is_never_a_template_row(year):
    from units.models import Unit

    with pytest.raises(EntryInvalid) as refused:
        single_row_values(KINDS["process_emission"], {"category": "CO2", "quantity": ""},
                          unit=Unit.objects.get(institutional_id="13032"), year=2025)
    assert [(e.column, e.reason) for e in refused.value.errors] == [("quantity", "a value is required")]
    assert not ProcessEmission.objects.exists()


def test_a_per_year_file_uploaded_as_one_category_replaces_only_that_category(tmp_path, year, capsys):
    """Issue 13's diff, per category: the services file of the year leaves the vehicles rows alone."""
    import_csv(tmp_path, "purchase", PER_YEAR + "13032,,Courier,10,73152100\n13032,,Post,5,73152100\n",
               "--year", "2025", "--category", "services")
    import_csv(tmp_path, "purchase", PER_YEAR + "13032,,Van,20000,25150000\n", "--year", "2025",
               "--category", "vehicles")
    assert "added 1, changed 0, removed 0, unchanged 0" in capsys.readouterr().out
    assert sorted(Purchase.objects.values_list("name", "purchase_category")) == [
        ("Courier", "services"), ("Post", "services"), ("Van", "vehicles")]
    van = Purchase.objects.get(name="Van")
    import_csv(tmp_path, "purchase", PER_YEAR + "13032,,Courier,10,73152100\n", "--year", "2025",
               "--category", "services")
    assert "added 0, changed 0, removed 1, unchanged 1" in capsys.readouterr().out
    assert sorted(Purchase.objects.values_list("name", flat=True)) == ["Courier", "Van"]
    assert Purchase.objects.get(name="Van").pk == van.pk
