"""validate_module, recalculate and export_report on a small campaign."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from carbon.models import ModuleReport, ModuleStatus
from reporting.selectors import RESULTS_COLUMNS
from tests.campaign import import_csv

FACTORS = "category,subcategory,ef_kg_co2eq_per_unit\nCO2,industrial,1.5\n"
ENTRIES = ("unit_institutional_id,category,subcategory,quantity\n13032,CO2,industrial,100\n"
           "13032,CO2,industrial,50\n14011,CO2,industrial,2\n")


@pytest.fixture
def campaign(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", ENTRIES, "--year", "2025")


def export(*args) -> str:
    out = io.StringIO()
    call_command("export_report", *args, stdout=out)
    return out.getvalue()


def test_results_export_has_the_contract_columns_and_numbers(campaign):
    rows = list(csv.DictReader(io.StringIO(export("results", "--year", "2025"))))
    assert list(rows[0])[:18] == RESULTS_COLUMNS
    it4r = next(r for r in rows if r["unit_institutional_id"] == "13032")
    assert (it4r["scope1"], it4r["total"], it4r["process_emissions"], it4r["total_validated"]) == (
        "225", "225", "225", "0")
    assert it4r["unit_path_name"] == "EPFL ENAC SG IT4R"
    lab = next(r for r in rows if r["unit_institutional_id"] == "14011")
    assert lab["total"] == "3"
    assert len(rows) == 7  # one row per report, units without data included


def test_validate_module_and_validated_total(campaign):
    call_command("validate_module", "13032", "2025", "process_emissions")
    module = ModuleReport.objects.get(report__unit__institutional_id="13032", report__year=2025, module=8)
    assert module.status == ModuleStatus.VALIDATED
    from units.operators import operator_resolve

    assert module.history.first().history_change_reason == (
        f"module validated; command line: validate_module ({operator_resolve()[1]})")
    rows = list(csv.DictReader(io.StringIO(export("results", "--year", "2025"))))
    it4r = next(r for r in rows if r["unit_institutional_id"] == "13032")
    assert (it4r["total_validated"], it4r["validated_modules"]) == ("225", "1/8")
    call_command("validate_module", "13032", "2025", "process-emissions", "--undo")
    module.refresh_from_db()
    assert module.status == ModuleStatus.IN_PROGRESS
    with pytest.raises(CommandError, match="unknown"):
        call_command("validate_module", "13032", "2025", "nonsense")
    with pytest.raises(CommandError, match="no process_emissions report for unit 404"):
        call_command("validate_module", "404", "2025", "process_emissions")


def test_usage_export_one_row_per_report_and_module(campaign):
    rows = list(csv.DictReader(io.StringIO(export("usage", "--year", "2025"))))
    assert len(rows) == 7 * 8
    process = next(r for r in rows if r["unit_institutional_id"] == "13032" and r["module_name"] == "process_emissions")
    assert process["module_status"] == "IN_PROGRESS"


def test_json_export_and_output_file(campaign, tmp_path):
    path = tmp_path / "results.json"
    call_command("export_report", "results", "--year", "2025", "--format", "json", "--output", str(path))
    data = json.loads(path.read_text())
    assert {r["unit_institutional_id"]: r["total"] for r in data}["13032"] == "225"


def test_recalculate_after_a_factor_edit(campaign):
    from factors.models import ProcessEmissionFactor

    ProcessEmissionFactor.objects.update(ef_kg_co2eq_per_unit=2)
    out = io.StringIO()
    call_command("recalculate", "--year", "2025", "--kind", "process_emission", stdout=out)
    assert "process_emission: 3 entries recomputed" in out.getvalue()
    rows = list(csv.DictReader(io.StringIO(export("results", "--year", "2025"))))
    assert {r["unit_institutional_id"]: r["total"] for r in rows}["13032"] == "300"
    with pytest.raises(CommandError, match="unknown kind"):
        call_command("recalculate", "--year", "2025", "--kind", "nope")
