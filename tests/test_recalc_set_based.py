"""The set-based recalculation (registry `set_based`, issue 13) gives exactly what the Python path gives: every
emission row (same ids for rows found again, same kg to the gram, factor id and factor values, rows appearing
and disappearing), every entry total, and the statistics — on the same data, for each set-based kind."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import transaction

from carbon.models import CarbonReport, Emission, ModuleReport
from factors.kinds.process import ProcessEmissionFactor
from modules.engine import recalculate
from modules.process.models import ProcessEmission
from modules.registry import KINDS
from tests.campaign import import_csv

SET_BASED = sorted(name for name, spec in KINDS.items() if spec.set_based)

PROCESS_FACTORS = ("category,subcategory,unit,ef_kg_co2eq_per_unit\n"
                   "CO2,,kg,1.5\nCH4,,kg,28\nCH4,fossil,kg,29.8\nN2O,,kg,265\nRefrigerant,R134a,kg,1430\n")
# Quantities whose product with the factors below ends exactly on half a milligram: the engine's Decimal rounds
# half to even, PostgreSQL's round() away from zero.
PROCESS_ROWS = ("unit_institutional_id,category,subcategory,quantity,note\n"
                "13032,CO2,,100,\n13032,CO2,,0.000001,\n13032,CO2,,0.000003,\n13032,CH4,,2.5,\n"
                "13032,CH4,fossil,3,\n13032,CH4,FOSSIL,1.000001,\n13032,N2O,,7.25,\n"
                "13032,Refrigerant,R134a,0.5,\n13032,Refrigerant,R404A,2,\n14011,CO2,,123456.789012,\n"
                "14011,N2O,,0.333333,\n14011,CH4,unknown-sub,4,\n")


def change_process_factors() -> None:
    """A factor change touching every case: new values (half-gram products, a value printed as 1E-8), a factor
    that disappears (its rows go), one that appears (rows come), an override among the entries."""
    ProcessEmissionFactor.objects.filter(category="CO2").update(ef_kg_co2eq_per_unit=Decimal("0.5"))
    ProcessEmissionFactor.objects.filter(category="CH4", subcategory="").update(
        ef_kg_co2eq_per_unit=Decimal("0.00000001"))
    ProcessEmissionFactor.objects.filter(category="N2O").delete()
    ProcessEmissionFactor.objects.create(year=2025, category="Refrigerant", subcategory="", unit="kg",
                                         ef_kg_co2eq_per_unit=Decimal("3922.5"))
    entry = ProcessEmission.objects.get(category="CH4", subcategory="fossil")
    ProcessEmission.objects.filter(pk=entry.pk).update(kg_co2eq_override=Decimal("12.345678"))


SCENARIOS = {"process_emission": (("factors:process_emission", PROCESS_FACTORS), ("process_emission", PROCESS_ROWS),
                                  change_process_factors)}


def snapshot(spec) -> dict:
    """Everything a recalculation writes, keyed by what identifies it."""
    rows = {(e.kind, e.entry_id, e.emission_type): (
        e.pk, e.module_report_id, e.unit_id, e.year, e.module, e.scope, e.kg_co2eq, e.quantity, e.quantity_unit,
        e.factor_id, e.factor_values, e.is_override) for e in Emission.objects.all()}
    return {"emissions": rows,
            "entries": dict(spec.model.objects.values_list("pk", "kg_co2eq")),
            "module_reports": dict(ModuleReport.objects.values_list("pk", "stats")),
            "reports": dict(CarbonReport.objects.values_list("pk", "stats"))}


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("name", SET_BASED)
def test_the_set_based_path_writes_what_the_python_path_writes(tmp_path, year, name):
    spec = KINDS[name]
    factors, entries, change = SCENARIOS[name]  # a new set-based kind needs its scenario here
    import_csv(tmp_path, *factors, "--year", "2025")
    import_csv(tmp_path, *entries, "--year", "2025")
    change()
    before = set(Emission.objects.values_list("pk", flat=True))
    python_path = replace(spec, set_based=None)
    try:
        with transaction.atomic():
            assert recalculate(python_path, year=2025) == spec.model.objects.count()
            expected = snapshot(spec)
            raise _Rollback
    except _Rollback:
        pass
    assert recalculate(spec, year=2025) == spec.model.objects.count()
    got = snapshot(spec)

    def new_ids(rows):  # a row inserted by either path has an id of its own; a row found again keeps its id
        return {key: values[1:] if values[0] not in before else values for key, values in rows.items()}

    assert new_ids(got["emissions"]) == new_ids(expected["emissions"])  # rows found again keep their ids
    assert got["entries"] == expected["entries"]
    assert got["module_reports"] == expected["module_reports"]
    assert got["reports"] == expected["reports"]
    # The scenario does exercise what it claims: rows updated, appearing and disappearing, half-gram rounding.
    after = {values[0] for values in got["emissions"].values()}
    assert len(after & before) >= 5 and before - after and after - before  # updated, disappeared, appeared
    if name == "process_emission":
        totals = sorted(v for v in got["entries"].values() if v is not None)
        assert Decimal("0.000000") in totals and Decimal("0.000002") in totals  # 0.0000005 → 0, 0.0000015 → 2
        assert {"ef_kg_co2eq_per_unit": "1E-8", "unit": "kg"} in [v[10] for v in got["emissions"].values()]


def test_a_leaf_value_the_declaration_does_not_list_takes_the_python_path(tmp_path, year):
    """An entry whose category is spelt otherwise than declared: the statement writes nothing and the Python
    path computes it (its leaf is found by the taxonomy's normalisation)."""
    import_csv(tmp_path, "factors:process_emission", PROCESS_FACTORS, "--year", "2025")
    import_csv(tmp_path, "process_emission", PROCESS_ROWS, "--year", "2025")
    ProcessEmission.objects.filter(category="CO2").update(category="co2")
    ProcessEmissionFactor.objects.filter(category="CO2").update(ef_kg_co2eq_per_unit=2)
    recalculate(KINDS["process_emission"], year=2025)
    co2 = ProcessEmission.objects.get(category="co2", quantity=100)
    assert co2.kg_co2eq == Decimal("200")
    row = Emission.objects.get(entry_id=co2.pk, kind=KINDS["process_emission"].kinds[0].value)
    assert row.kg_co2eq == Decimal("200")
