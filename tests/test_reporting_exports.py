"""Back-office exports on the demo (issue #12): the roll-up, totals that agree across exports, the filters, the
detailed ZIP's contents, the command line and the audit events.

`demo` (conftest): the demo loaded once for this module, each test rolled back to it.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from audit.models import AuditEvent
from carbon.models import Emission
from carbon.taxonomy import CATEGORIES
from modules.registry import KINDS
from reporting.exports import ReportFilters, build_export
from reporting.exports.detailed import kind_filename
from reporting.selectors import RESULTS_COLUMNS
from tests.exports_helpers import csv_rows, zip_readme, zip_tables, zip_total

YEAR = "2025"

# Rolled-up totals of the demo's 2025 results export (kg CO2-eq, all data), computed from the labs' rows:
# ENAC = EESD 49539.912915 + LCBM 57030.08839 + APRL 13908.51697 + ECHO 27776.434733 + IT4R 20579.714025
ENAC_LABS = {"13034": "49539.912915", "13033": "57030.08839", "13036": "13908.51697", "13035": "27776.434733",
             "13032": "20579.714025"}
ENAC = "168834.667033"
STI = "108823.201792"  # LAI 29791.288582 + POWERLAB 49676.22821 + LMC 29355.685 + STI-LAB 0
SB = "138761.603672"  # LQM 70740.003234 + LCSO 68021.600438 + LASTRO 0 + LPI 0
EPFL = "416419.472497"  # ENAC + STI + SB
# Validated: LCBM's buildings 9679.275 + APRL 7899.6014 + IT4R 8302.922175 (all in ENAC)
EPFL_VALIDATED = "25881.798575"


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_report", *args, stdout=out)
    return out.getvalue()


def results(*args: str) -> dict[str, dict]:
    return {row["unit_institutional_id"]: row for row in csv_rows(export("results", "--year", YEAR, *args))}


def exported(name: str, fmt: str, **query) -> bytes:
    query.setdefault("year", YEAR)
    export_file = build_export(name, fmt, ReportFilters.from_query(query, None))
    return b"".join(export_file.chunks)


# --- roll-up -------------------------------------------------------------------------------------------------
def test_a_parent_row_is_the_sum_of_its_labs(demo):
    rows = results()
    assert list(next(iter(rows.values())))[:18] == RESULTS_COLUMNS
    assert {cf: rows[cf]["total"] for cf in ENAC_LABS} == ENAC_LABS
    assert (rows["13030"]["total"], rows["14000"]["total"], rows["14500"]["total"]) == (ENAC, STI, SB)
    assert rows["10000"]["total"] == EPFL
    assert Decimal(ENAC) == sum(map(Decimal, ENAC_LABS.values()))
    assert Decimal(EPFL) == Decimal(ENAC) + Decimal(STI) + Decimal(SB)
    labs = [row for row in rows.values() if row["unit_level"] == "4"]
    faculties = [row for row in rows.values() if row["unit_level"] == "2"]
    for column in ("total", "scope1", "scope2", "scope3", "total_validated", *CATEGORIES):
        lab_sum = sum((Decimal(r[column]) for r in labs), Decimal(0))
        faculty_sum = sum((Decimal(r[column]) for r in faculties), Decimal(0))
        assert lab_sum == faculty_sum == Decimal(rows["10000"][column]), column
    assert rows["10000"]["total_validated"] == EPFL_VALIDATED
    assert rows["10000"]["validated_modules"] == "6/192"  # 24 units × 8 module reports
    # Each level sums its children: an institute is the sum of its labs.
    assert Decimal(rows["13110"]["total"]) == Decimal(rows["13034"]["total"]) + Decimal(rows["13033"]["total"])
    # What each unit entered itself: only labs in the demo; Σ over every row = the institution, once.
    assert sum((Decimal(r["own_total"]) for r in rows.values()), Decimal(0)) == Decimal(EPFL)
    assert rows["13030"]["own_total"] == "0"
    # Every row adds up (product.md §5 decision 1).
    for cf, row in rows.items():
        assert (sum(Decimal(row[f"scope{s}"]) for s in (1, 2, 3)) == Decimal(row["total"])
                == sum(Decimal(row[c]) for c in CATEGORIES)), cf


def test_the_roll_up_stays_within_the_unit_filter(demo):
    rows = results("--unit", "13030")
    assert set(rows) == {"13030", "13100", "13110", "13120", *ENAC_LABS}
    assert rows["13030"]["total"] == ENAC


# --- totals agree across exports -----------------------------------------------------------------------------
@pytest.mark.parametrize(("unit", "expected"), [(None, EPFL), ("13030", ENAC), ("14000", STI)])
def test_results_detailed_and_combined_agree(demo, unit, expected):
    query = {"unit": unit} if unit else {}
    top = unit or "10000"
    rows = {r["unit_institutional_id"]: r for r in csv_rows(exported("results", "csv", **query))}
    assert rows[top]["total"] == expected
    assert sum((Decimal(r["own_total"]) for r in rows.values()), Decimal(0)) == Decimal(expected)
    assert zip_total(exported("detailed", "zip", **query)) == Decimal(expected)
    combined = csv_rows(exported("combined", "csv", **query))
    assert len(combined) == len(rows) * len(CATEGORIES)  # every unit × every category, no cap
    assert sum(Decimal(r["kg_co2eq"]) for r in combined if r["unit_institutional_id"] == top) == Decimal(expected)
    assert sum(Decimal(r["own_kg_co2eq"]) for r in combined) == Decimal(expected)
    for cf, row in rows.items():
        assert sum(Decimal(r["kg_co2eq"]) for r in combined if r["unit_institutional_id"] == cf) == Decimal(
            row["total"]), cf
    as_json = {r["unit_institutional_id"]: r for r in json.loads(exported("results", "json", **query))}
    assert as_json[top]["total"] == expected


def test_each_detailed_file_sums_to_its_kinds_emission_rows(demo):
    tables = zip_tables(exported("detailed", "zip"))
    assert set(tables) == {kind_filename(spec) for spec in KINDS.values()}  # one file per registered kind
    for spec in KINDS.values():
        rows = tables[kind_filename(spec)]
        emitted = Emission.objects.filter(kind__in=[int(k) for k in spec.kinds], year=2025).aggregate(
            s=Sum("kg_co2eq"))["s"] or Decimal(0)
        assert sum((Decimal(r["kg_co2eq"]) for r in rows if r["kg_co2eq"]), Decimal(0)) == emitted, spec.name
        assert len(rows) == spec.model.objects.filter(module_report__report__year_id=2025).count(), spec.name


def test_the_detailed_zip_flattens_every_field_with_labels_and_codes(demo):
    data = exported("detailed", "zip", unit="13032")
    tables = zip_tables(data)
    rooms = tables["buildings_building_room.csv"]
    room = next(r for r in rooms if r["room_name"] == "GC A3 444")
    assert (room["unit_institutional_id"], room["unit_name"], room["unit_path_name"], room["year"]) == (
        "13032", "IT4R", "EPFL ENAC SG IT4R", "2025")
    assert room["source"] == "Per-year CSV file"  # a choice by its label
    assert room["room"] == "GC A3 444"  # a reference by its code, not its database id
    assert room["room_type"] == "office"
    leaves = {k: Decimal(v) for k, v in room.items() if k.startswith("kg_co2eq__") and v}
    assert sum(leaves.values()) == Decimal(room["kg_co2eq"]) == Decimal("483.15375")
    assert leaves["kg_co2eq__buildings__construction_and_renovation"] == Decimal("273.36")
    planes = tables["professional_travel_plane.csv"]
    assert planes and all(r["cabin_class"] and r["origin_iata"] for r in planes)
    readme = zip_readme(data)
    assert "kg_co2eq" in readme and "module_status" in readme and "13032" in readme
    assert all(kind_filename(spec) in readme for spec in KINDS.values())


# --- filters -------------------------------------------------------------------------------------------------
def test_row_filters_choose_rows_without_changing_their_numbers(demo):
    everything = results()
    validated_buildings = results("--modules", "buildings:validated")
    assert set(validated_buildings) == {"13033"}  # LCBM: the one validated buildings module
    assert validated_buildings["13033"] == everything["13033"]
    searched = results("--search", "enac")
    assert set(searched) == {"13030"}
    assert searched["13030"]["total"] == ENAC  # still the faculty's total: search picks rows, not data
    in_progress = results("--completion", "in_progress")
    assert set(in_progress) == {"13033", "13036", "13032"}
    not_started = results("--completion", "not_started")
    assert "10000" in not_started and not set(not_started) & set(in_progress)
    usage = csv_rows(export("usage", "--year", YEAR, "--modules", "headcount:2"))
    assert {(r["unit_institutional_id"], r["module_status"]) for r in usage} == {("13036", "VALIDATED"),
                                                                                ("13032", "VALIDATED")}


def test_several_years_give_one_row_per_unit_and_year(demo):
    from carbon.services import year_create

    year_create(year=2026)
    rows = csv_rows(export("results", "--year", "2025", "--year", "2026", "--unit", "13032"))
    assert [(r["year"], r["unit_institutional_id"], r["total"]) for r in rows] == [
        ("2025", "13032", "20579.714025"), ("2026", "13032", "0")]


@pytest.mark.parametrize(("args", "message"), [
    (["--year", "1999"], "year: unknown year 1999"),
    (["--year", YEAR, "--unit", "99999"], "unit: unknown unit 99999"),
    (["--year", YEAR, "--completion", "done"], "completion: done is not one of"),
    (["--year", YEAR, "--modules", "nonexistent:1"], "modules: Invalid module type nonexistent"),
    (["--year", YEAR, "--modules", "headcount:7"], "modules: Invalid module status 7"),
    (["--year", YEAR, "--format", "pdf"], "format: usage is available as csv, json"),
])
def test_bad_filters_are_refused_with_the_reason(demo, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_report", "usage", *args, stdout=io.StringIO())


# --- the command line ----------------------------------------------------------------------------------------
def test_the_command_writes_every_export_and_records_it(demo, tmp_path):
    detailed = tmp_path / "detailed.zip"
    call_command("export_report", "detailed", "--year", YEAR, "--unit", "13030", "--output", str(detailed),
                 stderr=io.StringIO())
    assert zip_total(detailed.read_bytes()) == Decimal(ENAC)
    event = AuditEvent.objects.filter(action="exported").latest("pk")
    assert (event.source, event.details["report"], event.details["format"]) == ("command", "detailed", "zip")
    assert event.details["filters"]["units"] == ["13030"] and event.details["filters"]["scoped"] is False
    assert event.details["rows"] == sum(len(rows) for rows in zip_tables(detailed.read_bytes()).values())
    with pytest.raises(CommandError, match="needs --output"):
        call_command("export_report", "detailed", "--year", YEAR, stdout=io.StringIO())
    combined = tmp_path / "combined.json"
    call_command("export_report", "combined", "--year", YEAR, "--format", "json", "--output", str(combined),
                 stderr=io.StringIO())
    assert len(json.loads(combined.read_text())) == 24 * len(CATEGORIES)
    assert export("results", "--year", YEAR).startswith("year,unit_institutional_id,unit_path_name,scope1,")
