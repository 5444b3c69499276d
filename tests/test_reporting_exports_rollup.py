"""The roll-up when a parent unit has entries of its own (a faculty's central service): its row is its own
entries plus its subtree's, each ancestor counts them once, and Σ own_total over the export is the whole."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.campaign import import_csv

FACTORS = "category,subcategory,ef_kg_co2eq_per_unit\nCO2,industrial,1.5\n"
# IT4R (lab, 13032) 150 × 1.5 = 225; ENAC itself (faculty, 13030) 10 × 1.5 = 15; STI-LAB (14011) 2 × 1.5 = 3
ENTRIES = ("unit_institutional_id,category,subcategory,quantity\n13032,CO2,industrial,150\n"
           "13030,CO2,industrial,10\n14011,CO2,industrial,2\n")


@pytest.fixture
def campaign(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", ENTRIES, "--year", "2025")


def results() -> dict[str, dict]:
    out = io.StringIO()
    call_command("export_report", "results", "--year", "2025", stdout=out)
    return {row["unit_institutional_id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


def test_a_parents_own_entries_count_once_in_it_and_its_ancestors(campaign):
    rows = results()
    assert (rows["13032"]["total"], rows["13032"]["own_total"]) == ("225", "225")
    assert (rows["13100"]["total"], rows["13100"]["own_total"]) == ("225", "0")  # SG: its lab
    assert (rows["13030"]["total"], rows["13030"]["own_total"]) == ("240", "15")  # ENAC: 15 + 225
    assert (rows["14000"]["total"], rows["14011"]["total"]) == ("3", "3")
    assert rows["10000"]["total"] == "243"  # 240 + 3, the faculty's own 15 once
    assert sum(Decimal(r["own_total"]) for r in rows.values()) == Decimal(243)
    assert rows["13030"]["process_emissions"] == rows["13030"]["scope1"] == "240"


def test_the_validated_total_rolls_up_too(campaign):
    call_command("validate_module", "13032", "2025", "process_emissions")
    rows = results()
    assert (rows["13032"]["total_validated"], rows["13032"]["validated_modules"]) == ("225", "1/8")
    assert (rows["13030"]["total_validated"], rows["13030"]["validated_modules"]) == ("225", "1/24")
    assert (rows["10000"]["total_validated"], rows["10000"]["validated_modules"]) == ("225", "1/56")
    assert rows["10000"]["own_total_validated"] == "0"


FORMULA_SAMPLES = ["=cmd|' /C calc'!A0", "+1.5", "-5", " -5 ", "-", "@SUM(A1)", "\tx", "\rx", "  =1+1", "plain",
                   "", "1e5", "+1e-3", "-.5", "- 5", "+", "a=b", "élève", "=", "@", " +x"]


@pytest.mark.django_db
def test_the_detailed_exports_formula_rule_is_the_csv_writers():
    from django.db import connection

    from infra.csvio import neutralize_formula
    from reporting.exports.detailed import safe_text_sql

    with connection.cursor() as cursor:
        for sample in FORMULA_SAMPLES:
            cursor.execute(f"SELECT {safe_text_sql('v')} FROM (SELECT %s::text AS v) sample", [sample])
            assert cursor.fetchone()[0] == neutralize_formula(sample), repr(sample)


def test_a_formula_in_an_entry_is_neutralised_in_the_detailed_zip(campaign):
    from modules.process.models import ProcessEmission
    from reporting.exports import ReportFilters, build_export
    from tests.exports_helpers import zip_tables

    ProcessEmission.objects.filter(quantity=10).update(note="=HYPERLINK(\"http://x\")")
    export = build_export("detailed", "zip", ReportFilters.from_query({"year": "2025"}, None))
    rows = zip_tables(b"".join(export.chunks))["process_emissions_process_emission.csv"]
    assert {r["note"] for r in rows} == {"", "'=HYPERLINK(\"http://x\")"}
    assert export.rows == 3
