"""Properties of the engine that must hold for any campaign (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon.models import CarbonReport, Emission, ModuleReport
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
def year_with_process_factors(year, tmp_path_factory):
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
def test_totals_are_consistent_nonnegative_and_order_independent(year_with_process_factors, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("p")
    import_csv(tmp, "process_emission", to_csv(data), "--year", "2025")
    assert_invariants()
    forward = kg()
    import_csv(tmp, "process_emission", to_csv(list(reversed(data))), "--year", "2025")
    assert kg() == forward
    assert ProcessEmission.objects.count() == len(data)


@SETTINGS
@given(data=rows, factor=st.integers(min_value=2, max_value=5))
def test_emissions_are_linear_in_quantity(year_with_process_factors, tmp_path_factory, data, factor):
    tmp = tmp_path_factory.mktemp("l")
    import_csv(tmp, "process_emission", to_csv(data), "--year", "2025")
    base = kg()
    import_csv(tmp, "process_emission", to_csv([(cf, c, q * factor) for cf, c, q in data]), "--year", "2025")
    assert kg() == base * factor


# --- linear in trips (train) and in FTE (member) -----------------------------------------------------
TRAIN_FACTORS = "country_code,ef_kg_co2eq_per_km\nCH,0.05\nRoW,0.1\n"
MEMBER_FACTORS = ("headcount_category,headcount_class,headcount_subclass,unit,number_of_unit_per_fte,"
                  "ef_kg_co2eq_per_unit\nfood,vegetarian,,kg,100,1.0\nwaste,incineration,,kg,50,0.5\n"
                  "commuting,public_transport,,km,200,0.2\n")


@pytest.fixture
def travel_year(year_with_process_factors, tmp_path_factory):
    from factors.models import Location, TransportMode, location_natural_key

    for name, point in {"Geneva": (46.2104, 6.1428), "Lausanne": (46.5167, 6.6322), "Bern": (46.9490, 7.4390)}.items():
        Location.objects.create(transport_mode=TransportMode.TRAIN, name=name, country_code="CH", latitude=point[0],
                                longitude=point[1], natural_key=location_natural_key(
                                    transport_mode="train", name=name, country_code="CH", latitude=point[0],
                                    longitude=point[1]))
    tmp = tmp_path_factory.mktemp("t")
    import_csv(tmp, "factors:train", TRAIN_FACTORS, "--year", "2025")
    import_csv(tmp, "factors:member", MEMBER_FACTORS, "--year", "2025")


trips = st.lists(st.tuples(st.sampled_from(["Geneva", "Lausanne", "Bern"]), st.sampled_from(["Geneva", "Lausanne"]),
                           st.integers(min_value=1, max_value=20)), min_size=1, max_size=12)


def trains_csv(data) -> str:
    return "unit_institutional_id,origin_name,origin_country_code,destination_name,destination_country_code," \
           "user_institutional_id,number_of_trips,cabin_class\n" + "".join(
               f"13032,{o},CH,{d},CH,100001,{n},second\n" for o, d, n in data)


@SETTINGS
@given(data=trips, factor=st.integers(min_value=2, max_value=4))
def test_train_emissions_are_linear_in_trips(travel_year, tmp_path_factory, data, factor):
    tmp = tmp_path_factory.mktemp("tr")
    import_csv(tmp, "train", trains_csv(data), "--year", "2025")
    base = kg(kind=21)
    import_csv(tmp, "train", trains_csv([(o, d, n * factor) for o, d, n in data]), "--year", "2025")
    assert kg(kind=21) == base * factor
    assert_invariants()


ftes = st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.5"), places=2), min_size=1, max_size=10)


def members_csv(data) -> str:
    return "unit_institutional_id,name,sius_code,user_institutional_id,fte\n" + "".join(
        f"13032,P{i},53,{200000 + i},{fte}\n" for i, fte in enumerate(data))


@SETTINGS
@given(data=ftes)
def test_member_emissions_are_linear_in_fte(travel_year, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("m")
    import_csv(tmp, "member", members_csv(data), "--year", "2025")
    base = kg(kind=1)
    assert base == sum(data) * Decimal("165")  # 100 × 1.0 + 50 × 0.5 + 200 × 0.2 per FTE
    import_csv(tmp, "member", members_csv([f * 2 for f in data]), "--year", "2025")
    assert kg(kind=1) == base * 2
    assert_invariants()
