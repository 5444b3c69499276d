"""Process emissions end to end: factors, per-year and unit files, overrides, recalculation, stats."""

from decimal import Decimal

import pytest
from django.core.management import CommandError

from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import EntryKind, Module
from modules.process.models import ProcessEmission
from tests.campaign import import_csv, kg

FACTORS = "category,subcategory,unit,ef_kg_co2eq_per_unit\nCO2,industrial,kg,1.5\nCH4,,kg,28\n"
PER_YEAR = ("unit_institutional_id,category,subcategory,quantity,note\n"
            "13032,co2,industrial,100.0,\n13032,co2,industrial,50.0,\n")


def test_worked_example_150_and_75(tmp_path, year, tree):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    totals = sorted(ProcessEmission.objects.values_list("kg_co2eq", flat=True))
    assert totals == [Decimal("75"), Decimal("150")]
    rows = Emission.objects.filter(kind=EntryKind.process_emission)
    assert {(r.emission_type, r.scope, r.unit_id, r.year) for r in rows} == {(70200, 1, tree["it4r"].pk, 2025)}
    assert rows.first().factor_values == {"ef_kg_co2eq_per_unit": "1.50000000", "unit": "kg"}
    module = ModuleReport.objects.get(report__unit=tree["it4r"], report__year=2025, module=Module.process_emissions)
    assert module.stats["total"] == "225.000000" and module.stats["scope1"] == "225.000000"
    assert module.stats["entry_count"] == 2
    assert module.status == ModuleStatus.IN_PROGRESS


def test_reimport_of_a_per_year_file_changes_nothing(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    assert ProcessEmission.objects.count() == 2
    assert Emission.objects.count() == 2
    assert kg() == Decimal("225")


def test_unit_file_appends_and_per_year_replace_keeps_it(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", "category,quantity\nCH4,2\n", "--year", "2025", "--unit", "14011")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    assert kg() == Decimal("281")  # 56 (2 kg CH4 × 28) + 225
    assert ProcessEmission.objects.count() == 3


def test_no_factor_keeps_the_entry_without_emission(tmp_path, year):
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    assert ProcessEmission.objects.count() == 2
    assert not Emission.objects.exists()
    assert set(ProcessEmission.objects.values_list("kg_co2eq", flat=True)) == {None}


def test_factor_reimport_recalculates_and_flags_stale(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2025")
    module = ModuleReport.objects.get(report__unit__institutional_id="13032", report__year=2025, module=8)
    ModuleReport.objects.filter(pk=module.pk).update(status=ModuleStatus.VALIDATED)
    import_csv(tmp_path, "factors:process_emission", "category,subcategory,ef_kg_co2eq_per_unit\nCO2,industrial,3\n",
               "--year", "2025")
    assert kg() == Decimal("450")
    assert "flagged stale" in capsys.readouterr().out
    from factors.models import ProcessEmissionFactor

    assert ProcessEmissionFactor.objects.get(category="CH4").is_stale
    module.refresh_from_db()
    assert module.status == ModuleStatus.VALIDATED  # a factor recalculation never un-validates
    assert module.stats["total"] == "450.000000"


def test_override_is_one_row_verbatim(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission",
               "unit_institutional_id,category,quantity,kg_co2eq\n13032,CO2,100,12.345\n", "--year", "2025")
    row = Emission.objects.get()
    assert (row.kg_co2eq, row.is_override, row.factor_id) == (Decimal("12.345"), True, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unit_institutional_id,category,quantity\n13032,CO2,-1\n", "row 1, column quantity: must be ≥ 0 (got -1)"),
        ("unit_institutional_id,category,quantity\n13032,CO2,abc\n", "row 1, column quantity: 'abc' is not a number"),
        ("unit_institutional_id,category,quantity\n99999,CO2,1\n",
         "row 1, column unit_institutional_id: unknown unit '99999'"),
        ("unit_institutional_id,category,quantity\n13032,SF6,1\n", "row 1, column category: 'SF6' is not one of"),
        ("unit_institutional_id,category\n13032,CO2\n", "column quantity"),
        ("unit_institutional_id;category;quantity\n13032;CO2;1,5\n", "use '.' as the decimal point"),
    ],
    ids=["negative", "text", "unknown-unit", "unknown-category", "missing-column", "comma-decimal"],
)
def test_bad_input_writes_nothing(tmp_path, year, capsys, text, message):
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n13032,CO2,1\n", "--year", "2025")
    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", text, "--year", "2025")
    assert message in capsys.readouterr().out
    assert ProcessEmission.objects.count() == 1


def test_year_must_exist(tmp_path, tree, capsys):
    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", PER_YEAR, "--year", "2031")
    assert "year 2031 is not created yet" in capsys.readouterr().out
