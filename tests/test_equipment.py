"""Equipment end to end: factors, category inference, hours defaults, errors, overrides, recalculation."""

from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db import IntegrityError, transaction

from carbon.models import Emission, ModuleReport
from carbon.taxonomy import EntryKind, Module
from factors.models import EquipmentFactor
from modules.equipment.models import Equipment
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

FACTOR_HEADER = ("equipment_category,equipment_class,sub_class,active_power_w,standby_power_w,"
                 "active_usage_hours_per_week,standby_usage_hours_per_week,ef_kg_co2eq_per_kwh\n")
FACTORS = FACTOR_HEADER + (
    "it,Laptop,Standard,100,10,40,128,0.1\n"
    "it,Laptop,,50,5,,,0.1\n"  # class fallback, no default hours
    "scientific,Microscope,,1000,100,20,20,0.1\n"
    "other,Fridge,,200,0,168,0,0.1\n"
    "scientific,Freezer,,300,30,100,68,0.1\n"
    "other,Freezer,,300,30,100,68,0.1\n"
)
HEADER = ("unit_institutional_id,equipment_category,equipment_id,name,equipment_class,sub_class,"
          "active_usage_hours_per_week,standby_usage_hours_per_week\n")


@pytest.fixture
def year_with_equipment_factors(year, tmp_path):
    import_csv(tmp_path, "factors:equipment", FACTORS, "--year", "2025")
    return 2025


def smoke() -> str:
    return (SAMPLES / "equipments_smoke.csv").read_text().replace("{unit_institutional_id}", "13032")


def test_worked_example_8_1_from_the_smoke_file_infers_the_category(tmp_path, year_with_equipment_factors, tree):
    import_csv(tmp_path, "equipment", smoke(), "--year", "2025")
    entries = list(Equipment.objects.order_by("equipment_id"))
    assert [(e.equipment_id, e.equipment_category, e.kg_co2eq) for e in entries] == [
        ("INV-0001", "it", Decimal("27.456")), ("INV-0002", "it", Decimal("27.456"))]
    rows = Emission.objects.filter(entry_id__in=[e.pk for e in entries])
    assert {(r.kind, r.emission_type, r.scope, r.unit_id) for r in rows} == {
        (EntryKind.equipment_it, 80200, 2, tree["it4r"].pk)}
    assert rows.first().factor_values["ef_kg_co2eq_per_kwh"] == "0.10000000"
    module = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025, module=Module.equipment)
    assert module.stats["total"] == module.stats["scope2"] == "54.912000"
    assert module.stats["entry_count"] == 2


def test_each_category_is_its_own_kind_and_leaf_case_insensitively(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", HEADER + "13032,IT,A,Laptop,laptop,standard,40,128\n"
                                              "13032,Scientific,B,Scope,Microscope,,,\n"
                                              "13032,other,C,Fridge,FRIDGE,,,\n", "--year", "2025")
    kinds = {r.kind: (r.emission_type, r.kg_co2eq) for r in Emission.objects.all()}
    assert kinds == {
        EntryKind.equipment_it: (80200, Decimal("27.456")),
        EntryKind.equipment_scientific: (80100, Decimal("114.400")),  # (20×1000 + 20×100) × 52/1000 × 0.1
        EntryKind.equipment_other: (80300, Decimal("174.720")),  # 168 × 200 × 52/1000 × 0.1
    }


def test_empty_hours_take_the_factor_defaults_and_zero_is_a_real_value(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", HEADER + "13032,it,A,L,Laptop,Standard,,\n"
                                              "13032,it,B,L,Laptop,Standard,0,\n"
                                              "13032,it,C,L,Laptop,Standard,0,0\n", "--year", "2025")
    assert [e.kg_co2eq for e in Equipment.objects.order_by("equipment_id")] == [
        Decimal("27.456"), Decimal("6.656"), Decimal("0")]  # B: 128 h × 10 W standby only
    assert Equipment.objects.get(equipment_id="A").active_usage_hours_per_week is None  # the default is not copied


def test_sub_class_falls_back_to_the_class_row(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", HEADER + "13032,it,A,L,Laptop,Gaming,10,10\n", "--year", "2025")
    row = Emission.objects.get()
    assert row.kg_co2eq == Decimal("2.860")  # (10×50 + 10×5) × 52/1000 × 0.1
    assert row.factor_id == EquipmentFactor.objects.get(equipment_class="Laptop", sub_class="").pk


def test_no_factor_in_the_category_or_no_hours_keeps_the_row_with_a_warning(tmp_path, year_with_equipment_factors,
                                                                            capsys):
    import_csv(tmp_path, "equipment", HEADER + "13032,other,A,L,Laptop,,10,10\n"
                                              "13032,it,B,L,Laptop,Gaming,,\n", "--year", "2025")
    out = capsys.readouterr().out
    assert "row 1, column equipment_class: no equipment factor for (other, Laptop, *) in 2025" in out
    assert "row 2, column active_usage_hours_per_week: weekly hours are empty and the factor" in out
    assert Equipment.objects.count() == 2 and not Emission.objects.exists()


def test_template_unit_file_with_category_column_and_override_column(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "factors:equipment", FACTORS + "it,Monitors,,30,1,40,128,0.1\n", "--year", "2025")
    import_csv(tmp_path, "equipment", (SAMPLES / "equipment_IT_template.csv").read_text(), "--year", "2025",
               "--unit", "13032")
    entry = Equipment.objects.get()
    assert (entry.equipment_id, entry.equipment_category, entry.kg_co2eq) == ("B006198", "it", Decimal("6.905600"))


def test_override_is_one_row_verbatim_in_the_category_leaf(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", "unit_institutional_id,equipment_id,name,equipment_class,kg_co2eq\n"
                                      "13032,A,Scope,Microscope,12.5\n", "--year", "2025")
    row = Emission.objects.get()
    assert (row.kind, row.emission_type, row.kg_co2eq, row.is_override, row.factor_id) == (
        EntryKind.equipment_scientific, 80100, Decimal("12.5"), True, None)


def test_reimport_of_a_per_year_file_changes_nothing(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", smoke(), "--year", "2025")
    import_csv(tmp_path, "equipment", smoke(), "--year", "2025")
    assert Equipment.objects.count() == 2 and Emission.objects.count() == 2
    assert kg() == Decimal("54.912")


def test_factor_reimport_recalculates(tmp_path, year_with_equipment_factors):
    import_csv(tmp_path, "equipment", smoke(), "--year", "2025")
    import_csv(tmp_path, "factors:equipment", FACTORS.replace("40,128,0.1", "40,128,0.2"), "--year", "2025")
    assert kg() == Decimal("109.824")
    # A new default reaches the entries that left their hours empty.
    import_csv(tmp_path, "equipment", HEADER + "13032,it,A,L,Laptop,Standard,,\n", "--year", "2025")
    import_csv(tmp_path, "factors:equipment", FACTORS.replace("40,128,0.1", "0,168,0.1"), "--year", "2025")
    assert kg() == Decimal("8.736")  # 168 h × 10 W × 52/1000 × 0.1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("13032,,A,Scope,Telescope,,1,1", "row 1, column equipment_category: equipment_category is empty and no "
                                          "factor for class 'Telescope' tells it"),
        ("13032,,A,Box,Freezer,,1,1", "row 1, column equipment_category: equipment_category is empty and the "
                                      "factors for class 'Freezer' name several categories (other, scientific)"),
        ("13032,lab,A,L,Laptop,,1,1", "row 1, column equipment_category: 'lab' is not one of: scientific, it, other"),
        ("13032,it,A,L,Laptop,,169,0", "row 1, column active_usage_hours_per_week: must be between 0 and 168 "
                                       "(got 169)"),
        ("13032,it,A,L,Laptop,,1,-1", "row 1, column standby_usage_hours_per_week: must be between 0 and 168"),
        ("13032,it,A,L,Laptop,,100,100", "row 1, column standby_usage_hours_per_week: active + standby hours must "
                                         "be ≤ 168 per week (got 100 + 100)"),
        ("13032,it,A,L,Laptop,Standard,100,", "row 1, column standby_usage_hours_per_week: active + standby hours "
                                              "must be ≤ 168 per week (got 100 + 128.00 with the factor's default"),
        ("13032,it,A,L,Laptop,,1.555,1", "row 1, column active_usage_hours_per_week: at most 2 decimals"),
        ("13032,it,A,L,Laptop,,ten,1", "row 1, column active_usage_hours_per_week: 'ten' is not a number"),
        ("13032,it,,L,Laptop,,1,1", "row 1, column equipment_id: a value is required"),
        ("13032,it,A,L,,,1,1", "row 1, column equipment_class: a value is required"),
    ],
    ids=["no-factor-category", "several-categories", "bad-category", "hours-169", "negative", "sum",
         "sum-with-default", "decimals", "text", "no-id", "no-class"],
)
def test_bad_input_writes_nothing(tmp_path, year_with_equipment_factors, capsys, row, message):
    import_csv(tmp_path, "equipment", smoke(), "--year", "2025")
    with pytest.raises(CommandError):
        import_csv(tmp_path, "equipment", HEADER + "13032,it,OK,L,Laptop,Standard,1,1\n" + row + "\n",
                   "--year", "2025")
    assert message.replace("row 1", "row 2") in capsys.readouterr().out
    assert list(Equipment.objects.values_list("equipment_id", flat=True).order_by("pk")) == ["INV-0001", "INV-0002"]
    assert kg() == Decimal("54.912")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (FACTOR_HEADER + "lab,X,,1,1,,,0.1\n", "row 1, column equipment_category: 'lab' is not one of"),
        (FACTOR_HEADER + "it,X,,1,1,100,100,0.1\n", "row 1, column standby_usage_hours_per_week: active + standby"),
        (FACTOR_HEADER + "it,X,,-1,1,,,0.1\n", "row 1, column active_power_w: must be ≥ 0"),
        (FACTOR_HEADER + "it,X,,1,1,,,0.1\nit,X,,2,2,,,0.2\n", "row 2, column equipment_category: duplicate factor"),
    ],
    ids=["category", "hours", "power", "duplicate"],
)
def test_bad_factor_file_writes_nothing(tmp_path, year_with_equipment_factors, capsys, text, message):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "factors:equipment", text, "--year", "2025")
    assert message in capsys.readouterr().out
    assert EquipmentFactor.objects.count() == 6


def test_database_holds_the_hours_rules(year_with_equipment_factors, tree):
    module_report = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025, module=Module.equipment)
    common = {"module_report": module_report, "equipment_category": "it", "equipment_id": "A", "name": "L",
              "equipment_class": "Laptop"}
    for hours in ({"active_usage_hours_per_week": 100, "standby_usage_hours_per_week": 100},
                  {"active_usage_hours_per_week": 169}, {"standby_usage_hours_per_week": -1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Equipment.objects.create(**common, **hours)
    with pytest.raises(IntegrityError), transaction.atomic():
        Equipment.objects.create(**{**common, "equipment_category": "lab"})
    Equipment.objects.create(**common, active_usage_hours_per_week=40, standby_usage_hours_per_week=128)
