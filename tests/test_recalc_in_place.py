"""A recomputation writes emission rows in place (issue 13): a row found again by (kind, entry, leaf) keeps its
id and gets the new values; only rows that appear are inserted and rows that disappear deleted."""

from decimal import Decimal

from carbon.models import Emission
from modules.process.models import ProcessEmission
from modules.registry import KINDS
from modules.services import entry_update
from tests.campaign import import_csv, kg

FACTORS = "category,subcategory,unit,ef_kg_co2eq_per_unit\nCO2,,kg,1.5\n"
ROWS = "unit_institutional_id,category,subcategory,quantity,note\n13032,co2,,100,\n13032,ch4,,2,\n"


def test_a_factor_change_updates_rows_in_place_and_a_new_factor_adds_rows(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", ROWS, "--year", "2025")
    co2 = Emission.objects.get()  # CH4 has no factor yet: no row
    assert co2.kg_co2eq == Decimal("150")
    import_csv(tmp_path, "factors:process_emission", FACTORS.replace("1.5", "2") + "CH4,,kg,28\n", "--year", "2025")
    rows = {e.entry_id: e for e in Emission.objects.all()}
    ch4_entry = ProcessEmission.objects.get(category="CH4")
    assert rows[co2.entry_id].pk == co2.pk and rows[co2.entry_id].kg_co2eq == Decimal("200")
    assert rows[co2.entry_id].factor_values == {"ef_kg_co2eq_per_unit": "2.00000000", "unit": "kg"}
    assert rows[ch4_entry.pk].kg_co2eq == Decimal("56")  # appeared
    assert kg() == Decimal("256")
    assert ProcessEmission.objects.get(pk=co2.entry_id).kg_co2eq == Decimal("200")


def test_an_override_replaces_the_computed_row_in_place(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", ROWS, "--year", "2025")
    row = Emission.objects.get()
    entry = ProcessEmission.objects.get(pk=row.entry_id)
    entry_update(KINDS["process_emission"], entry, cells={"kg_co2eq": "12.5"}, actor=None)
    again = Emission.objects.get()
    assert (again.pk, again.kg_co2eq, again.is_override, again.factor_id, again.factor_values) == (
        row.pk, Decimal("12.5"), True, None, {})
    entry_update(KINDS["process_emission"], entry, cells={"kg_co2eq": "", "category": "n2o"}, actor=None)
    assert not Emission.objects.exists()  # no N2O factor: the row disappeared
    assert ProcessEmission.objects.get(pk=entry.pk).kg_co2eq is None
