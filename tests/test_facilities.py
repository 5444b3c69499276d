"""Research and animal facilities end to end: factors (given or computed sums), unit checks, overrides."""

from decimal import Decimal

import pytest
from django.core.management import CommandError

from carbon import taxonomy
from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import EntryKind, Module
from factors.kinds.facilities import AnimalFacilityFactor, ResearchFacilityFactor
from modules.facilities.models import AnimalFacilityUse, ResearchFacilityUse
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

CSV_DIR = str(SAMPLES)
FACTOR = ("researchfacility_id,researchfacility_name,use_unit,total_use,kg_co2eq_sum\n"
          "RF-001,Smoke Facility A,hours,100,{}\n")
USES = ("unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit,note\n"
        "13032,RF-001,Smoke Facility A,10.0,hours,\n13032,RF-001,Smoke Facility A,5.0,hours,\n")
ANIMAL_HEADER = ("researchfacility_id,researchfacility_name,researchfacility_type,use_unit,total_use,"
                 "processemissions_share,building_energycombustions_share,building_rooms_share,purchases_common_share,"
                 "purchases_additional_share,equipments_share,kg_co2eq_sum_processemissions,"
                 "kg_co2eq_sum_building_energycombustions,kg_co2eq_sum_building_rooms,kg_co2eq_sum_purchases_common,"
                 "kg_co2eq_sum_purchases_additional,kg_co2eq_sum_equipments\n")


def sample(tmp_path, name: str) -> str:
    return (open(f"{CSV_DIR}/{name}", encoding="utf-8").read()).replace("{unit_institutional_id}", "13032")


def failed_import(tmp_path, capsys, kind, text, *args) -> str:
    with pytest.raises(CommandError):
        import_csv(tmp_path, kind, text, "--year", "2025", *args)
    return capsys.readouterr().out


def facility_results(cf: str, kg_by_type: dict[int, int]) -> None:
    """Emission rows of a facility unit's own results (as the other modules would write them)."""
    for emission_type, value in kg_by_type.items():
        module = taxonomy.get(emission_type).module
        module_report = ModuleReport.objects.get(report__unit__institutional_id=cf, report__year_id=2025,
                                                 module=module)
        Emission.objects.create(module_report=module_report, unit_id=module_report.report.unit_id, year=2025,
                                module=module, kind=EntryKind.of_module(module)[0], entry_id=0,
                                emission_type=emission_type, scope=taxonomy.scope_of(emission_type),
                                kg_co2eq=value)


# STI-LAB's own results: process, rooms, combustion, embodied, equipment, purchases, additional purchases…
FACILITY_RESULTS = {70200: 100, 6010101: 200, 60201: 300, 60300: 400, 80100: 500, 90200: 600, 90901: 700,
                    # … and what a facility's sum leaves out: travel, food, its own facility use, cloud.
                    50203: 10_000, 10001: 20_000, 100100: 30_000, 110102: 40_000}


# -------------------------------------------------------------------------------- research facilities
def test_worked_example_100_and_50_with_the_smoke_file(tmp_path, year, tree):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    import_csv(tmp_path, "research_facility", sample(tmp_path, "researchfacilities_common_smoke.csv"),
               "--year", "2025")
    assert sorted(ResearchFacilityUse.objects.values_list("kg_co2eq", flat=True)) == [Decimal("50"), Decimal("100")]
    rows = Emission.objects.filter(kind=EntryKind.research_facility)
    assert {(r.emission_type, r.scope, r.unit_id, r.module, r.quantity) for r in rows} == {
        (100100, 3, tree["it4r"].pk, Module.research_facilities, None)}
    assert rows.first().factor_values == {"researchfacility_name": "Smoke Facility A", "use_unit": "hours",
                                          "total_use": "100.000000", "kg_co2eq_sum": "1000.000000"}
    module = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025, module=Module.research_facilities)
    assert module.stats["total"] == "150.000000" and module.stats["entry_count"] == 2


def test_factor_reimport_recalculates_and_keeps_validation(tmp_path, year):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    ModuleReport.objects.filter(module=Module.research_facilities).update(status=ModuleStatus.VALIDATED)
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("2000"), "--year", "2025")
    assert kg() == Decimal("300")
    assert ResearchFacilityFactor.objects.count() == 1
    assert set(ModuleReport.objects.filter(module=Module.research_facilities).values_list("status", flat=True)) == {
        ModuleStatus.VALIDATED}


def test_reimport_of_a_per_year_file_changes_nothing(tmp_path, year):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    assert ResearchFacilityUse.objects.count() == 2 and Emission.objects.count() == 2
    assert kg() == Decimal("150")


def test_unit_mismatch_keeps_the_row_without_emission(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    import_csv(tmp_path, "research_facility", USES.replace("5.0,hours", "5.0,CHF").replace("10.0,hours", "10,HOURS"),
               "--year", "2025")
    out = capsys.readouterr().out
    assert ("warning: row 2, column use_unit: use_unit 'CHF' differs from the facility factor's 'hours': "
            "the row is kept with no emission") in out
    assert "row 1" not in out  # the unit is compared case-insensitively
    assert sorted(ResearchFacilityUse.objects.values_list("kg_co2eq", flat=True), key=str) == [Decimal("100"), None]


def test_missing_factor_keeps_the_row_and_a_later_factor_reaches_it(tmp_path, year, capsys):
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    assert ("warning: row 1, column researchfacility_id: no research_facility factor for facility 'RF-001' in 2025: "
            "the row is kept with no emission until one is imported") in capsys.readouterr().out
    assert ResearchFacilityUse.objects.count() == 2 and not Emission.objects.exists()
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    assert kg() == Decimal("150")


def test_total_use_zero_gives_zero(tmp_path, year):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000").replace(",100,", ",0,"),
               "--year", "2025")
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    assert set(ResearchFacilityUse.objects.values_list("kg_co2eq", flat=True)) == {Decimal(0)}
    assert Emission.objects.count() == 2


def use_sti_lab_with_a_computed_sum(tmp_path) -> None:
    """STI-LAB (14011) as a facility whose factor leaves kg_co2eq_sum empty; IT4R uses 10 of its 100 hours."""
    import_csv(tmp_path, "factors:research_facility",
               "researchfacility_id,researchfacility_name,use_unit,total_use,kg_co2eq_sum\n14011,STI lab,hours,100,\n",
               "--year", "2025")
    import_csv(tmp_path, "research_facility",
               "researchfacility_id,researchfacility_name,use,use_unit\n14011,STI lab,10,hours\n",
               "--year", "2025", "--unit", "13032")


def test_empty_sum_is_computed_from_the_facility_units_results(tmp_path, year):
    facility_results("14011", FACILITY_RESULTS)
    facility_results("13032", {70200: 99_999})  # the using unit's own results are not the facility's
    use_sti_lab_with_a_computed_sum(tmp_path)
    entry = ResearchFacilityUse.objects.get()
    assert entry.kg_co2eq == Decimal("280")  # 10/100 × (100+200+300+400+500+600+700)
    row = Emission.objects.get(kind=EntryKind.research_facility, entry_id=entry.pk)
    assert row.factor_values["kg_co2eq_sum"] == "2800.000000" and row.factor_values["kg_co2eq_sum_computed"]
    assert ResearchFacilityFactor.objects.get().kg_co2eq_sum is None  # computed, never written back


def test_unknown_facility_unit_without_sum_gives_no_emission(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:research_facility",
               "researchfacility_id,researchfacility_name,use_unit,total_use\nNOPE,Nowhere,hours,100\n",
               "--year", "2025")
    import_csv(tmp_path, "research_facility",
               "researchfacility_id,researchfacility_name,use,use_unit\nNOPE,Nowhere,10,hours\n",
               "--year", "2025", "--unit", "13032")
    assert ("warning: row 1, column researchfacility_id: facility unit 'NOPE' is unknown and its factor has no "
            "kg_co2eq_sum: the row is kept with no emission") in capsys.readouterr().out
    assert ResearchFacilityUse.objects.get().kg_co2eq is None and not Emission.objects.exists()


def test_it_facilities_and_overrides_are_one_leaf(tmp_path, year):
    import_csv(tmp_path, "research_facility",
               "unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit,kg_co2eq\n"
               "13032,SCITAS,SCITAS,10,hours,12.5\n13032,RF-001,Smoke Facility A,10,hours,7\n", "--year", "2025")
    rows = {(r.emission_type, r.kg_co2eq, r.is_override, r.factor_id) for r in Emission.objects.all()}
    assert rows == {(100300, Decimal("12.5"), True, None), (100100, Decimal("7"), True, None)}
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    assert kg() == Decimal("19.5")  # a factor never replaces an override


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit\n13032,RF-001,A,-1,hours\n",
         "row 1, column use: must be ≥ 0 (got -1)"),
        ("unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit\n13032,RF-001,A,ten,hours\n",
         "row 1, column use: 'ten' is not a number"),
        ("unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit\n13032,RF-001,,1,hours\n",
         "row 1, column researchfacility_name: a value is required"),
        ("unit_institutional_id,researchfacility_id,researchfacility_name,use\n13032,RF-001,A,1\n",
         "column use_unit: missing required column 'use_unit'"),
        ("unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit,kg_co2eq\n"
         "13032,RF-001,A,1,hours,-3\n", "must be ≥ 0 (got -3)"),
    ],
    ids=["negative", "text", "no-name", "no-unit-column", "negative-override"],
)
def test_bad_research_input_writes_nothing(tmp_path, year, capsys, text, message):
    import_csv(tmp_path, "factors:research_facility", FACTOR.format("1000"), "--year", "2025")
    import_csv(tmp_path, "research_facility", USES, "--year", "2025")
    out = failed_import(tmp_path, capsys, "research_facility", text)
    assert message in out
    assert ResearchFacilityUse.objects.count() == 2 and kg() == Decimal("150")


def test_template_sample_row_has_shifted_columns(tmp_path, year, capsys):
    """`CIBM-GE,6877,CHF,,`: the name holds a number, use holds 'CHF' and use_unit is empty."""
    template = sample(tmp_path, "researchfacilities_common_template.csv")
    out = failed_import(tmp_path, capsys, "research_facility", template, "--unit", "13032")
    assert "error: row 1, column use_unit: a value is required" in out
    assert not ResearchFacilityUse.objects.exists()
    fixed = "researchfacility_id,researchfacility_name,use,use_unit\nCIBM-GE,6877,CHF,hours\n"
    out = failed_import(tmp_path, capsys, "research_facility", fixed, "--unit", "13032")
    assert "error: row 1, column use: 'CHF' is not a number" in out
    assert not ResearchFacilityUse.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("researchfacility_id,use_unit,total_use\nRF-001,hours,-5\n", "row 1, column total_use: must be ≥ 0 (got -5)"),
        ("researchfacility_id,use_unit,total_use,kg_co2eq_sum\nRF-001,hours,5,lots\n",
         "row 1, column kg_co2eq_sum: 'lots' is not a number"),
        ("researchfacility_id,total_use\nRF-001,5\n", "column use_unit: missing required column 'use_unit'"),
        ("researchfacility_id,use_unit,total_use\nRF-001,hours,5\nRF-001,hours,6\n",
         "row 2, column researchfacility_id: duplicate factor (researchfacility_id='RF-001') (also on row 1)"),
    ],
    ids=["negative-total", "text-sum", "no-unit", "duplicate"],
)
def test_bad_research_factor_writes_nothing(tmp_path, year, capsys, text, message):
    assert message in failed_import(tmp_path, capsys, "factors:research_facility", text)
    assert not ResearchFacilityFactor.objects.exists()


# ---------------------------------------------------------------------------------- animal facilities
def animal_factor(cf="1321", shares=("0.5", "", "0.25", "", "", ""), sums=("2000", "", "4000", "", "", ""),
                  kind="mice", unit="housings", total="1000") -> str:
    return ANIMAL_HEADER + ",".join([cf, "CPG", kind, unit, total, *shares, *sums]) + "\n"


def test_animal_template_shares_out_each_source(tmp_path, year, tree):
    import_csv(tmp_path, "factors:animal_facility", animal_factor(), "--year", "2025")
    import_csv(tmp_path, "animal_facility", sample(tmp_path, "researchfacilities_animals_template.csv"),
               "--year", "2025", "--unit", "13032")
    entry = AnimalFacilityUse.objects.get()
    assert (entry.researchfacility_type, entry.use, entry.use_unit) == ("mice", 258, "housings")
    assert entry.kg_co2eq == Decimal("516")  # 258 × 0.5 / 1000 × 2000 + 258 × 0.25 / 1000 × 4000
    row = Emission.objects.get()
    assert (row.emission_type, row.scope, row.kind, row.unit_id) == (10020001, 3, EntryKind.animal_facility,
                                                                     tree["it4r"].pk)
    assert row.factor_id == AnimalFacilityFactor.objects.get().pk
    doubled = animal_factor(sums=("4000", "", "8000", "", "", ""))
    import_csv(tmp_path, "factors:animal_facility", doubled, "--year", "2025")
    assert kg() == Decimal("1032")


def test_animal_sums_computed_per_source(tmp_path, year):
    facility_results("14011", FACILITY_RESULTS)
    import_csv(tmp_path, "factors:animal_facility",
               animal_factor(cf="14011", kind="fish", shares=("0.5",) * 6, sums=("", "", "10000", "", "", "")),
               "--year", "2025")
    import_csv(tmp_path, "animal_facility",
               "researchfacility_id,researchfacility_name,researchfacility_type,use,use_unit\n"
               "14011,CPG,Fish,100,Housings\n", "--year", "2025", "--unit", "13032")
    # 100 × 0.5 / 1000 = 0.05 of: process 100, combustion 300, rooms 10000 (given), purchases 600,
    # additional 700, equipment 500 — embodied energy (400) is no animal source.
    assert AnimalFacilityUse.objects.get().kg_co2eq == Decimal("610")
    row = Emission.objects.get(kind=EntryKind.animal_facility, entry_id=AnimalFacilityUse.objects.get().pk)
    assert row.emission_type == 10020002
    assert row.factor_values["kg_co2eq_sum_purchases_common"] == "600.000000"
    assert row.factor_values["kg_co2eq_sum_purchases_common_computed"] is True
    assert row.factor_values["kg_co2eq_sum_building_rooms"] == "10000.000000"
    assert "kg_co2eq_sum_building_rooms_computed" not in row.factor_values


def test_animal_without_usable_source_or_with_another_unit_has_no_emission(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:animal_facility", animal_factor(cf="NOPE", sums=("",) * 6) +
               animal_factor(shares=("",) * 6).split("\n", 1)[1], "--year", "2025")
    import_csv(tmp_path, "animal_facility",
               "researchfacility_id,researchfacility_name,researchfacility_type,use,use_unit\n"
               "NOPE,X,mice,1,housings\n1321,CPG,mice,1,housings\n1321,CPG,mice,1,cages\n1321,CPG,fish,1,housings\n",
               "--year", "2025", "--unit", "13032")
    out = capsys.readouterr().out
    assert ("warning: row 1: the facility factor has no source with both a share and a sum; facility unit 'NOPE' "
            "is unknown: the row is kept with no emission") in out
    assert "warning: row 2: the facility factor has no source with both a share and a sum: the row is kept" in out
    assert "warning: row 3, column use_unit: use_unit 'cages' differs from the facility factor's 'housings'" in out
    assert ("warning: row 4, column researchfacility_id: no animal_facility factor for facility '1321' (fish) "
            "in 2025") in out
    assert AnimalFacilityUse.objects.count() == 4 and not Emission.objects.exists()


def test_animal_override_is_one_row_in_the_type_leaf(tmp_path, year):
    import_csv(tmp_path, "animal_facility",
               "researchfacility_id,researchfacility_name,researchfacility_type,use,use_unit,kg_co2eq\n"
               "1321,CPG,fish,1,housings,42\n", "--year", "2025", "--unit", "13032")
    row = Emission.objects.get()
    assert (row.emission_type, row.kg_co2eq, row.is_override, row.factor_id) == (10020002, 42, True, None)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("animal_facility", "researchfacility_id,researchfacility_name,researchfacility_type,use,use_unit\n"
                            "1321,CPG,rats,1,housings\n",
         "row 1, column researchfacility_type: 'rats' is not one of: mice, fish"),
        ("animal_facility", "researchfacility_id,researchfacility_name,use,use_unit\n1321,CPG,1,housings\n",
         "column researchfacility_type: missing required column 'researchfacility_type'"),
        ("factors:animal_facility", animal_factor(shares=("1.5", "", "", "", "", "")),
         "row 1, column processemissions_share: must be between 0 and 1 (got 1.5)"),
        ("factors:animal_facility", animal_factor(sums=("", "-1", "", "", "", "")),
         "row 1, column kg_co2eq_sum_building_energycombustions: must be ≥ 0 (got -1)"),
        ("factors:animal_facility", animal_factor(kind="rat"),
         "row 1, column researchfacility_type: 'rat' is not one of: mice, fish"),
        ("factors:animal_facility", animal_factor().replace("equipments_share", "equipment_share"),
         "column equipment_share: unknown column 'equipment_share' looks like a misspelling of 'equipments_share'"),
    ],
    ids=["entry-type", "entry-no-type", "share-over-1", "negative-sum", "factor-type", "typo"],
)
def test_bad_animal_input_writes_nothing(tmp_path, year, capsys, kind, text, message):
    args = ("--unit", "13032") if kind == "animal_facility" else ()
    assert message in failed_import(tmp_path, capsys, kind, text, *args)
    assert not AnimalFacilityUse.objects.exists() and not AnimalFacilityFactor.objects.exists()


def test_it_facility_leaf_follows_the_factor_name_not_the_entry_spelling(tmp_path, year):
    from carbon.models import Emission
    from tests.campaign import import_csv

    import_csv(tmp_path, "factors:research_facility",
               "researchfacility_id,researchfacility_name,use_unit,total_use,kg_co2eq_sum\nF1,SCITAS,h,100,1000\n",
               "--year", "2025")
    import_csv(tmp_path, "research_facility",
               "unit_institutional_id,researchfacility_id,researchfacility_name,use,use_unit\n"
               "13032,F1,SCITAS HPC cluster,10,h\n", "--year", "2025")
    assert list(Emission.objects.values_list("emission_type", "kg_co2eq")) == [(100300, 100)]


def test_a_change_of_the_facility_units_data_recomputes_the_users_of_the_facility(tmp_path, year):
    """`depends_on`: the computed sum follows the facility unit's own entries, without a manual recalculation."""
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n14011,CO2,1000\n",
               "--year", "2025")
    use_sti_lab_with_a_computed_sum(tmp_path)
    entry = ResearchFacilityUse.objects.get()
    assert entry.kg_co2eq == Decimal("100")  # 10/100 × 1000
    module = ModuleReport.objects.get(pk=entry.module_report_id)
    module.status = ModuleStatus.VALIDATED
    module.save()

    # The facility unit re-imports its process emissions: the user's share follows at once.
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n14011,CO2,3000\n",
               "--year", "2025")
    entry.refresh_from_db()
    assert entry.kg_co2eq == Decimal("300")
    module.refresh_from_db()
    assert module.status == ModuleStatus.VALIDATED  # a recomputation, not a change of the lab's own entries
    assert module.stats["total"] == "300.000000"

    # A factor change of a kind the sum reads goes the same way.
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,2\n", "--year", "2025")
    entry.refresh_from_db()
    assert entry.kg_co2eq == Decimal("600")
