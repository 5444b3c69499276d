"""Properties of the engine that must hold for any campaign (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon.models import CarbonReport, Emission, ModuleReport
from carbon.services import year_create
from modules.process.models import ProcessEmission
from tests.campaign import import_csv, kg

FACTORS = "category,subcategory,ef_kg_co2eq_per_unit\nCO2,,1\nCH4,,28\nN2O,,265\nRefrigerant,R134a,1430\n"
CATEGORIES = ["CO2", "CH4", "N2O", "Refrigerant"]

rows = st.lists(
    st.tuples(st.sampled_from(["13032", "14011"]), st.sampled_from(CATEGORIES),
              st.decimals(min_value=0, max_value=10000, places=3)),
    min_size=1, max_size=25)

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def to_csv(data) -> str:
    lines = ["unit_institutional_id,category,subcategory,quantity"]
    lines += [f"{cf},{cat},{'R134a' if cat == 'Refrigerant' else ''},{q}" for cf, cat, q in data]
    return "\n".join(lines) + "\n"


@pytest.fixture
def year(tree, tmp_path_factory):
    year_create(year=2025)
    import_csv(tmp_path_factory.mktemp("f"), "factors:process_emission", FACTORS, "--year", "2025")


def assert_invariants():
    for module in ModuleReport.objects.exclude(stats={}):
        stats = module.stats
        scopes = sum(Decimal(stats[f"scope{i}"]) for i in (1, 2, 3))
        categories = sum((Decimal(v) for v in stats["by_category"].values()), Decimal(0))
        assert scopes == Decimal(stats["total"]) == categories
    for report in CarbonReport.objects.exclude(stats={}):
        total = Decimal(report.stats["total"])
        assert total == sum(Decimal(report.stats[f"scope{i}"]) for i in (1, 2, 3))
        assert total == kg(module_report__report=report)
    assert not Emission.objects.filter(kg_co2eq__lt=0).exists()


@SETTINGS
@given(data=rows)
def test_totals_are_consistent_nonnegative_and_order_independent(year, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("p")
    import_csv(tmp, "process_emission", to_csv(data), "--year", "2025")
    assert_invariants()
    forward = kg()
    import_csv(tmp, "process_emission", to_csv(list(reversed(data))), "--year", "2025")
    assert kg() == forward
    assert ProcessEmission.objects.count() == len(data)


@SETTINGS
@given(data=rows, factor=st.integers(min_value=2, max_value=5))
def test_emissions_are_linear_in_quantity(year, tmp_path_factory, data, factor):
    tmp = tmp_path_factory.mktemp("l")
    import_csv(tmp, "process_emission", to_csv(data), "--year", "2025")
    base = kg()
    import_csv(tmp, "process_emission", to_csv([(cf, c, q * factor) for cf, c, q in data]), "--year", "2025")
    assert kg() == base * factor
