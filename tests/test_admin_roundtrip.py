"""The admin's Export of a kind is a file `import_csv` imports back with identical results (per entry kind and per
factor kind, generated over the registries), and it speaks in unit codes, names and years, never database ids."""

import csv
import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from carbon.models import Emission
from factors.base import FACTOR_KINDS
from modules.registry import KINDS
from modules.rows import entry_cells
from units.models import User

YEAR = 2025


@pytest.fixture
def admin_client(client, demo):
    client.force_login(User.objects.get(institutional_id="demo-admin"))
    return client


def export_csv(client, model) -> str:
    """POST the export form as the admin page does: CSV, the one resource, every field ticked."""
    model_admin = admin.site._registry[model]
    formats = model_admin.get_export_formats()
    csv_index = next(i for i, f in enumerate(formats) if f().get_title() == "csv")
    resource = model_admin.get_export_resource_classes(None)[0]
    data = {"format": str(csv_index), "resource": "0"}
    for field in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{field}"] = "on"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export")
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")


def entry_rows(spec) -> list[tuple]:
    """Every entry of the kind and year as (unit cf, its CSV cells, its computed kg), sorted."""
    entries = spec.model.objects.filter(module_report__report__year=YEAR).select_related("module_report__report__unit")
    return sorted((e.module_report.report.unit.institutional_id, tuple(sorted(entry_cells(spec, e).items())),
                   e.kg_co2eq) for e in entries)


def kg_per_unit(spec) -> dict:
    rows = (Emission.objects.filter(year=YEAR, kind__in=[int(k) for k in spec.kinds])
            .values("unit__institutional_id").annotate(kg=Sum("kg_co2eq")))
    return {r["unit__institutional_id"]: r["kg"] for r in rows}


def reimport(tmp_path, kind: str, text: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_csv", kind, str(path), "--year", str(YEAR), stdout=io.StringIO())


@pytest.mark.parametrize("name", sorted(KINDS))
def test_an_entry_export_imports_back_with_identical_results(admin_client, tmp_path, name):
    spec = KINDS[name]
    before_rows, before_kg = entry_rows(spec), kg_per_unit(spec)
    text = export_csv(admin_client, spec.model)
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "unit_institutional_id"
    assert header[1:len(spec.columns) + 1] == [c.name for c in spec.columns]
    assert {"unit_name", "year", "computed_kg_co2eq"} <= set(header) and "id" not in header
    rows = list(csv.DictReader(io.StringIO(text)))
    if spec.model.objects.filter(module_report__report__year=YEAR).exists():
        assert rows and {r["year"] for r in rows} == {str(YEAR)}
    if not rows:
        return
    # The demo's rows came from per-year files: the re-import replaces them with the exported ones.
    spec.model.objects.filter(module_report__report__year=YEAR).update(note="before the round trip")
    reimport(tmp_path, name, text)
    assert entry_rows(spec) == before_rows  # the notes too: every row was written again from the file
    assert kg_per_unit(spec) == before_kg


@pytest.mark.parametrize("name", sorted(FACTOR_KINDS))
def test_a_factor_export_imports_back_unchanged(admin_client, tmp_path, name):
    spec = FACTOR_KINDS[name]
    fields = [c.name for c in spec.columns]
    before = sorted(tuple(str(v) for v in row) for row in spec.model.objects.filter(year=YEAR).values_list(*fields))
    text = export_csv(admin_client, spec.model)
    header = next(csv.reader(io.StringIO(text)))
    assert header[:len(fields)] == fields and "id" not in header
    if not before:
        return
    reimport(tmp_path, spec.import_name, text)
    after = sorted(tuple(str(v) for v in row) for row in spec.model.objects.filter(year=YEAR).values_list(*fields))
    assert after == before
    assert not spec.model.objects.filter(year=YEAR, is_stale=True).exists()


def test_a_metiers_export_holds_their_subtree_only(client, demo):
    from units.scoping import Action, unit_scope

    metier = User.objects.get(institutional_id="demo-metier")
    client.force_login(metier)
    spec = KINDS["plane"]
    rows = list(csv.DictReader(io.StringIO(export_csv(client, spec.model))))
    in_scope = set(unit_scope(metier, Action.BROWSE).units().values_list("institutional_id", flat=True))
    everyone = set(spec.model.objects.values_list("module_report__report__unit__institutional_id", flat=True))
    assert rows and {r["unit_institutional_id"] for r in rows} == everyone & in_scope != everyone


@pytest.mark.parametrize("name", ["locations", "building_rooms", "exchange_rates"])
def test_a_reference_data_export_imports_back_unchanged(admin_client, tmp_path, name):
    from infra.importing import IMPORTERS

    model = IMPORTERS[name].model
    fields = [c.name for c in IMPORTERS[name].columns]

    def rows():
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*fields))

    before = rows()
    text = export_csv(admin_client, model)
    assert next(csv.reader(io.StringIO(text)))[:len(fields)] == fields
    assert before, f"the demo has {name}"
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_csv", name, str(path), stdout=io.StringIO())
    assert rows() == before
