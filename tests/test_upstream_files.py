"""The reference system's own files (fixtures/upstream/, the 37 samples of shared/csv/) on the demo, as a lab or a
back office moving from it would try them: `import_csv` dry run, then for real.

Each file's outcome is pinned: accepted, accepted with warnings, or refused with the reason a user can act on;
the rows written and the rows with emissions. Placeholder unit ids (`SEED-BC-0`, `{unit_institutional_id}`,
`TC-TRAVEL-1`, `UNIT001`/`UNIT002`) are replaced by demo labs, as a user would; the reference's per-category
purchase templates are imported with the category of the place they are uploaded to (`--category`), as the
reference takes it from the submodule; the process template is filled in as a user would (CO2 = 10,
R134a = 2) and the other 49 gases left empty.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max
from django.utils import timezone

from modules.registry import KINDS

UPSTREAM = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"
LAB, OTHER_LAB = "13032", "13033"  # IT4R and LCBM, level-4 units of the demo
PLACEHOLDERS = {b"SEED-BC-0": LAB, b"{unit_institutional_id}": LAB, b"TC-TRAVEL-1": LAB, b"UNIT001": LAB,
                b"UNIT002": OTHER_LAB}
# The process template as a user fills it in: two of its 51 gases.
FILLED_PROCESS = ((b"\nCO2,,,", b"\nCO2,,10,"), (b"\nRefrigerant,R134a,,", b"\nRefrigerant,R134a,2,"))

ACCEPTED, WARNINGS, REFUSED = "accepted", "accepted with warnings", "refused"


@dataclass(frozen=True)
class Case:
    kind: str
    unit_file: bool  # imported with --unit (a lab's upload: no unit column) or as a per-year file
    outcome: str
    written: int  # entries (or factors) written
    with_emissions: int | None  # entries with an emission (None: factors)
    reason: str = ""  # refused: the error a user reads; with warnings: one warning they read
    category: str | None = None
    dry_outcome: str | None = None  # when a dry run cannot tell yet (a factor file's stale factors): else `outcome`


CASES = {
    "building_energycombustions_smoke.csv": Case("energy_combustion", False, ACCEPTED, 2, 2),
    # propane in kWh, forest chips and wood logs in kg: the demo's factors use the template's units
    "building_energycombustions_template.csv": Case("energy_combustion", True, ACCEPTED, 7, 7),
    # BC-150 / BC-200 and the AAB/AI rooms are not in the demo's rooms table (reference data)
    "building_rooms_smoke.csv": Case("building_room", False, WARNINGS, 2, 0, "unknown room 'BC-150'"),
    "building_rooms_template.csv": Case("building_room", True, WARNINGS, 6, 1, "unknown room 'AAB 0 01'"),
    "equipment_IT_template.csv": Case("equipment", True, ACCEPTED, 1, 1),
    # "Lab Freezer / Frigde": the reference's spelling, an alias of the demo's "Lab Freezer / Fridge"
    "equipment_other_template.csv": Case("equipment", True, ACCEPTED, 1, 1),
    "equipment_scientific_template.csv": Case("equipment", True, ACCEPTED, 1, 1),
    "equipments_smoke.csv": Case("equipment", False, ACCEPTED, 2, 2),
    "external_ai_template.csv": Case("external_ai", True, WARNINGS, 4, 4,
                                     "row 5: row skipped: a template row: no requests_per_user_per_day, fte_count"),
    "external_clouds_smoke.csv": Case("external_cloud", False, ACCEPTED, 2, 2),
    "external_clouds_template.csv": Case("external_cloud", True, WARNINGS, 2, 2,
                                         "row 3: row skipped: a template row: no spent_amount"),
    # the reference's outdated position_title/position_category columns (its member DTO wants sius_code too)
    "headcount_smoke.csv": Case("member", True, REFUSED, 0, 0, "missing required column 'sius_code'"),
    "headcount_template.csv": Case("member", True, ACCEPTED, 8, 8),
    "process_emissions_smoke.csv": Case("process_emission", False, ACCEPTED, 2, 2),
    "processemissions_template.csv": Case("process_emission", True, WARNINGS, 2, 2,
                                          "row 2: row skipped: a template row: no quantity"),
    "purchases_additional_template.csv": Case("additional_purchase", True, ACCEPTED, 1, 1),
    "purchases_biological_chemical_gaseous_template.csv": Case(
        "purchase", True, WARNINGS, 1, 0, "no purchase factor for code 'B'", "biological_chemical_gaseous_product"),
    # the dry run of a factor file counts nothing and learns the stale factors only when writing
    "purchases_common_factors_smoke.csv": Case("factors:purchase", False, WARNINGS, 11, None,
                                               "factors missing from this file are now flagged stale",
                                               dry_outcome=ACCEPTED),
    # a test code (PIC-IT) with no factor and no category: the category cannot be guessed
    "purchases_common_smoke.csv": Case("purchase", False, REFUSED, 0, 0,
                                       "purchase_category is empty and no factor for code 'PIC-IT' tells it: "
                                       "give the category"),
    "purchases_common_template.csv": Case("purchase", True, REFUSED, 0, 0,
                                          "purchase_category is empty and no factor for code 'A' tells it: "
                                          "give the category"),
    "purchases_consumables_template.csv": Case("purchase", True, WARNINGS, 1, 0,
                                               "no purchase factor for code '41123300'", "consumable_accessories"),
    "purchases_itequipment_template.csv": Case("purchase", True, ACCEPTED, 1, 1, category="it_equipment"),
    "purchases_other_template.csv": Case("purchase", True, WARNINGS, 1, 0, "no purchase factor for code 'H'",
                                         "other_purchases"),
    "purchases_scientificequipment_template.csv": Case("purchase", True, ACCEPTED, 1, 1,
                                                       category="scientific_equipment"),
    "purchases_services_template.csv": Case("purchase", True, WARNINGS, 1, 0, "no purchase factor for code '73152100'",
                                            "services"),
    "purchases_vehicles_template.csv": Case("purchase", True, WARNINGS, 1, 0, "no purchase factor for code '25150000'",
                                            "vehicles"),
    "regression_kg_co2eq_plane.csv": Case("plane", True, WARNINGS, 3, 3, "is not in the headcount of unit 13032"),
    "researchfacilities_animals_template.csv": Case("animal_facility", True, ACCEPTED, 1, 1),
    "researchfacilities_common_smoke.csv": Case("research_facility", False, WARNINGS, 2, 0,
                                                "no research_facility factor for facility 'RF-001'"),
    # the reference's own sample row is shifted (CIBM-GE,6877,CHF,,): no use_unit
    "researchfacilities_common_template.csv": Case("research_facility", True, REFUSED, 0, 0,
                                                   "row 1, column use_unit: a value is required"),
    "travel_planes_smoke.csv": Case("plane", False, WARNINGS, 2, 2, "traveller 'U-001' is not in the headcount"),
    "travel_planes_template.csv": Case("plane", True, WARNINGS, 3, 3, "traveller '123456' is not in the headcount"),
    "travel_planes_unknown_iata.csv": Case("plane", False, WARNINGS, 1, 0, "unknown airport 'XXX'"),
    # "Geneva": Genève through the autocomplete's matcher
    "travel_trains_smoke.csv": Case("train", False, WARNINGS, 2, 2, "traveller 'U-002' is not in the headcount"),
    "travel_trains_template.csv": Case("train", True, WARNINGS, 1, 1,
                                       "row 1: row skipped: an instruction line of the template"),
    "travel_trains_unknown_station.csv": Case("train", False, WARNINGS, 1, 0, "unknown station 'Atlantis' in CH"),
    "valid_module_per_year.csv": Case("member", False, REFUSED, 0, 0, "missing required column 'sius_code'"),
}


def test_every_reference_file_is_pinned():
    assert sorted(p.name for p in UPSTREAM.glob("*.csv")) == sorted(CASES)
    assert len(CASES) == 37


def _as_a_user_would(name: str) -> bytes:
    data = (UPSTREAM / name).read_bytes()
    for placeholder, cf in PLACEHOLDERS.items():
        data = data.replace(placeholder, cf.encode())
    if name == "processemissions_template.csv":
        for empty, filled in FILLED_PROCESS:
            assert empty in data
            data = data.replace(empty, filled, 1)
    return data


def _model(kind: str):
    if kind in KINDS:
        return KINDS[kind].model
    from factors.base import FACTOR_KINDS

    return FACTOR_KINDS[kind.split(":", 1)[1]].model


def _import(path: Path, case: Case, *extra: str) -> tuple[str, bool]:
    args = [case.kind, str(path), "--year", "2025", *extra]
    if case.unit_file:
        args += ["--unit", LAB]
    if case.category:
        args += ["--category", case.category]
    out = io.StringIO()
    try:
        call_command("import_csv", *args, stdout=out)
    except CommandError:
        return out.getvalue(), True
    return out.getvalue(), False


def _outcome(out: str, refused: bool) -> str:
    if refused:
        return REFUSED
    return WARNINGS if "warning: " in out else ACCEPTED


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_file_on_the_demo(demo, tmp_path, name):
    case = CASES[name]
    path = tmp_path / name
    path.write_bytes(_as_a_user_would(name))
    model = _model(case.kind)
    before = model.objects.aggregate(m=Max("pk"))["m"] or 0
    count_before = model.objects.count()

    out, refused = _import(path, case, "--dry-run")
    assert _outcome(out, refused) == (case.dry_outcome or case.outcome), out
    assert model.objects.count() == count_before, "a dry run writes nothing"

    started = timezone.now()
    out, refused = _import(path, case)
    assert _outcome(out, refused) == case.outcome, out
    if case.reason:
        assert case.reason in out, out
    if case.outcome == REFUSED:
        assert "error: " in out
        assert model.objects.count() == count_before, "a refused file writes nothing"
    if case.with_emissions is None:  # a factor file: new and updated factors
        written = model.objects.filter(pk__gt=before)
        assert f"created {written.count()}, updated {case.written - written.count()}" in out, out
    else:
        # A per-year file is a diff against the unit's rows: its rows are the ones added or changed now (a
        # changed row keeps its id), each with a '+' or '~' history row of this import.
        touched = model.history.filter(history_date__gte=started, history_type__in=["+", "~"]).values("id")
        written = model.objects.filter(pk__in=touched)
        assert written.count() == case.written, out
        assert written.exclude(kg_co2eq=None).count() == case.with_emissions, out


def test_the_empty_process_template_writes_nothing_and_names_every_row(demo, tmp_path):
    """As shipped (no gas filled in), the template is 51 template rows: each skipped with a warning, none an error."""
    path = tmp_path / "processemissions_template.csv"
    path.write_bytes((UPSTREAM / "processemissions_template.csv").read_bytes())
    model = KINDS["process_emission"].model
    count = model.objects.count()
    out = io.StringIO()
    call_command("import_csv", "process_emission", str(path), "--year", "2025", "--unit", LAB, stdout=out)
    text = out.getvalue()
    assert model.objects.count() == count
    assert "error" not in text
    assert all(f"warning: row {n}: row skipped: a template row: no quantity" in text for n in range(1, 52)), text


def test_a_per_category_template_without_its_category_says_how_to_give_it(demo, tmp_path):
    """Uploaded where no category is chosen, the services template is refused, and the reason names the ways."""
    path = tmp_path / "purchases_services_template.csv"
    path.write_bytes((UPSTREAM / "purchases_services_template.csv").read_bytes())
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "purchase", str(path), "--year", "2025", "--unit", LAB, stdout=out)
    assert ("error: row 1, column purchase_category: purchase_category is empty and no factor for code "
            "'73152100' tells it: give the category (a purchase_category column, the upload page's category, or "
            "import_csv --category") in out.getvalue()


def test_the_reference_s_names_meet_the_demo_s_factors_and_stations(demo, tmp_path):
    """What the table's counts stand on: "Geneva" is the station Genève (the autocomplete's matcher), the
    reference's "Lab Freezer / Frigde" uses the factor of "Lab Freezer / Fridge" (kept as the file spells it),
    and the template's propane in kWh, forest chips and wood logs in kg meet the demo's combustion factors."""
    from factors.kinds.buildings import EnergyCombustionFactor
    from factors.kinds.equipment import EquipmentFactor

    for name, case in (("travel_trains_smoke.csv", CASES["travel_trains_smoke.csv"]),
                       ("equipment_other_template.csv", CASES["equipment_other_template.csv"]),
                       ("building_energycombustions_template.csv", CASES["building_energycombustions_template.csv"])):
        path = tmp_path / name
        path.write_bytes(_as_a_user_would(name))
        _import(path, case)
    trips = KINDS["train"].model.objects.filter(user_institutional_id__in=["U-001", "U-002"]).order_by("pk")
    assert [(t.origin.name, t.destination.name) for t in trips] == [("Genève", "Lausanne"), ("Lausanne", "Genève")]
    freezer = KINDS["equipment"].model.objects.get(equipment_id="B020384", equipment_class="Lab Freezer / Frigde")
    fridge = EquipmentFactor.objects.get(year=2025, equipment_class="Lab Freezer / Fridge", sub_class="")
    # the factor's default 168 h × 150 W × 52 weeks / 1000 = 1310.4 kWh × 0.125 kg/kWh
    assert (fridge.active_power_w, freezer.kg_co2eq) == (150, Decimal("163.8"))
    combustion = KINDS["energy_combustion"].model.objects.filter(
        module_report__report__unit__institutional_id=LAB, name__in=["propane", "forest_chips", "wood_logs"])
    factors = dict(EnergyCombustionFactor.objects.filter(year=2025).values_list("name", "unit"))
    assert (factors["propane"], factors["forest_chips"], factors["wood_logs"]) == ("kWh", "kg", "kg")
    # propane 15000 kWh × 0.23; forest chips 4000 kg × 0.04; wood logs 2000 kg × 0.05
    assert sorted((e.name, e.kg_co2eq) for e in combustion) == [
        ("forest_chips", Decimal("160")), ("propane", Decimal("3450")), ("wood_logs", Decimal("100"))]
