"""Results of a unit and year (reporting.results, reporting.serializers): validated modules only, to the gram.

Emission rows are inserted directly: the selector is under test, not the engines (their numbers have their
own tests). The worked example is reference-domain.md §8 example 15 / reference-reporting.md §5 case 1,
with our rules: a module that is not validated shows no number (its rows never count), FTE comes from the
validated headcount, and the car-km factor is our setting's 0.17.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import path
from rest_framework.views import APIView

from carbon import taxonomy
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleSetting, ModuleStatus
from carbon.services import year_create
from carbon.taxonomy import CATEGORIES, EntryKind, Module
from modules.headcount.models import Member, Student
from reporting.results import unit_results
from reporting.serializers import UnitResultsSerializer

FOOD, WASTE, COMMUTING = 10001, 20001, 30004
PLANE_ECO, TRAIN_2ND = 50203, 50102
EQUIPMENT_SCIENTIFIC, EQUIPMENT_IT = 80100, 80200
CLOUD_COMPUTE = 110102
PURCHASE_SERVICES = 90600
ROOM_LIGHTING_OFFICE = taxonomy.room_leaf("lighting", "office")
NATURAL_GAS = 60201
EMBODIED = taxonomy.EMBODIED_ENERGY_LEAF

_next_entry = iter(range(1, 10**9))


@pytest.fixture(autouse=True)
def car_km_setting(settings):
    settings.CAR_KM_KG_CO2EQ_PER_KM = Decimal("0.17")
    settings.CAR_KM_SOURCE = "test source"


def module_report(unit, year: int, module: Module) -> ModuleReport:
    return ModuleReport.objects.get(report__unit=unit, report__year_id=year, module=module)


def emit(unit, year: int, module: Module, rows: dict[int, str]) -> None:
    """One emission row per (leaf, kg) in this unit's module report of the year."""
    report = module_report(unit, year, module)
    kind = EntryKind.of_module(module)[0]
    Emission.objects.bulk_create([
        Emission(module_report=report, unit=unit, year=year, module=module, kind=kind, entry_id=next(_next_entry),
                 emission_type=leaf, scope=taxonomy.scope_of(leaf), kg_co2eq=Decimal(kg))
        for leaf, kg in rows.items()
    ])


def set_status(unit, year: int, *modules: Module, status=ModuleStatus.VALIDATED) -> None:
    ModuleReport.objects.filter(report__unit=unit, report__year_id=year, module__in=modules).update(status=status)


def headcount_fte(unit, year: int, members: list[str], students: str | None) -> None:
    report = module_report(unit, year, Module.headcount)
    for i, fte in enumerate(members):
        Member.objects.create(module_report=report, name=f"M{i}", sius_code=51, user_institutional_id=str(900 + i),
                              fte=Decimal(fte))
    if students is not None:
        Student.objects.create(module_report=report, fte=Decimal(students))


def kg_sum(**filters) -> Decimal:
    return Emission.objects.filter(**filters).aggregate(s=Sum("kg_co2eq"))["s"]


def by_module(results) -> dict[str, dict]:
    return {row["module"]: row for row in results["modules"]}


def serialized(unit, year: int) -> dict:
    return UnitResultsSerializer(unit_results(unit, year)).data


@pytest.fixture
def example(tree, year):
    """Worked example 15 on IT4R (13032): 2025 current {1:5000, 2:12000, 4:8500, 5:None, 7:3200}, FTE 120;
    2024 {1:6000, 2:12000, 4:0}. Values are split over leaves with gram (and sub-gram) parts."""
    unit = tree["it4r"]
    year_create(year=2024)
    # 2025 — validated: headcount, travel, equipment, cloud and AI
    emit(unit, 2025, Module.headcount, {FOOD: "2500.001", WASTE: "999.999", COMMUTING: "1500"})
    emit(unit, 2025, Module.professional_travel, {PLANE_ECO: "11000.123456", TRAIN_2ND: "999.876544"})
    emit(unit, 2025, Module.equipment, {EQUIPMENT_SCIENTIFIC: "8000", EQUIPMENT_IT: "500"})
    emit(unit, 2025, Module.external_cloud_and_ai, {CLOUD_COMPUTE: "3200"})
    # module 5 "None": purchases has data but is only in progress, so it never counts
    emit(unit, 2025, Module.purchase, {PURCHASE_SERVICES: "999999.5"})
    set_status(unit, 2025, Module.purchase, status=ModuleStatus.IN_PROGRESS)
    set_status(unit, 2025, Module.headcount, Module.professional_travel, Module.equipment,
               Module.external_cloud_and_ai)
    headcount_fte(unit, 2025, ["1.0", "0.8", "0.2"], "118")  # 2 + 118 = 120 FTE
    # 2024 — validated: headcount 6000, travel 12000, equipment 0 (validated, no rows); cloud not validated
    emit(unit, 2024, Module.headcount, {FOOD: "6000"})
    emit(unit, 2024, Module.professional_travel, {PLANE_ECO: "12000"})
    emit(unit, 2024, Module.external_cloud_and_ai, {CLOUD_COMPUTE: "777"})
    set_status(unit, 2024, Module.headcount, Module.professional_travel, Module.equipment)
    # Another lab's validated rows of the same year never reach IT4R's results.
    other = tree["sti_lab"]
    emit(other, 2025, Module.equipment, {EQUIPMENT_IT: "123456"})
    set_status(other, 2025, Module.equipment)
    return unit


# ------------------------------------------------------------------------------------ worked example 15
def test_worked_example_15_totals(example):
    data = serialized(example, 2025)
    assert data["unit_institutional_id"] == "13032"
    assert (data["year"], data["previous_year"]) == (2025, 2024)
    assert (data["validated_modules"], data["module_count"]) == (4, 8)
    assert data["total_kg"] == "28700.000"
    assert data["total_t"] == "28.700"
    assert data["previous_total_kg"] == "18000.000"  # 6000 + 12000 + 0 (2024's cloud is not validated)
    assert data["previous_total_t"] == "18.000"
    assert data["change_percent"] == "59.44"  # (28700 − 18000) / 18000 × 100 = 59.444…
    assert data["fte"] == "120.000"
    assert data["t_per_fte"] == "0.239"  # 28.7 / 120 = 0.23916…
    assert data["kg_per_fte"] == "239.167"
    assert data["car_km"] == "168824"  # 28700 / 0.17 = 168823.53
    assert data["car_km_kg_co2eq_per_km"] == "0.1700"
    assert data["car_km_source"] == "test source"


def test_worked_example_15_per_module(example):
    modules = by_module(serialized(example, 2025))
    assert list(modules) == [m.name for m in Module]
    headcount = modules["headcount"]
    assert headcount == {
        "module": "headcount", "label": "Headcount", "status": "validated", "validated": True, "enabled": True,
        "kg": "5000.000", "t": "5.000", "previous_kg": "6000.000", "previous_t": "6.000",
        "change_percent": "-16.67", "car_km": "29412", "t_per_fte": "0.042",
    }
    travel = modules["professional_travel"]
    assert (travel["kg"], travel["change_percent"], travel["car_km"]) == ("12000.000", "0.00", "70588")
    equipment = modules["equipment"]  # previous year validated with 0 kg: no comparison
    assert (equipment["kg"], equipment["previous_kg"], equipment["previous_t"], equipment["change_percent"]) == (
        "8500.000", "0.000", "0.000", None)
    cloud = modules["external_cloud_and_ai"]  # not validated in 2024: no previous, no comparison
    assert (cloud["kg"], cloud["previous_kg"], cloud["change_percent"]) == ("3200.000", None, None)
    purchase = modules["purchase"]  # "None" in the example: in progress, so no number at all
    assert (purchase["status"], purchase["validated"], purchase["kg"], purchase["t"], purchase["car_km"],
            purchase["change_percent"], purchase["t_per_fte"]) == ("in_progress", False, None, None, None, None, None)
    for name in ("buildings", "research_facilities", "process_emissions"):
        assert modules[name]["status"] == "not_started" and modules[name]["kg"] is None


def test_worked_example_15_scopes_categories_and_missing(example):
    data = serialized(example, 2025)
    assert data["scopes"] == [
        {"scope": 1, "kg": "0.000", "t": "0.000"},
        {"scope": 2, "kg": "8500.000", "t": "8.500"},
        {"scope": 3, "kg": "20200.000", "t": "20.200"},
    ]
    categories = {row["category"]: row for row in data["categories"]}
    assert list(categories) == list(CATEGORIES)
    assert {c: row["kg"] for c, row in categories.items()} == {
        "process_emissions": None, "buildings": None, "equipment": "8500.000", "external": "3200.000",
        "professional_travel": "12000.000", "purchases": None, "research_facilities": None,
        "commuting": "1500.000", "food": "2500.001", "waste": "999.999",
        "buildings__construction_and_renovation": None,
    }
    assert categories["food"] == {"category": "food", "label": "Food", "module": "headcount", "validated": True,
                                  "kg": "2500.001", "t": "2.500"}
    assert categories["buildings__construction_and_renovation"]["module"] == "buildings"
    assert data["missing"] == [
        {"module": name, "label": Module[name].label, "status": status,
         "message": f"Validate {Module[name].label} to see its results."}
        for name, status in [("buildings", "not_started"), ("purchase", "in_progress"),
                             ("research_facilities", "not_started"), ("process_emissions", "not_started")]
    ]


def test_invariants_sum_of_scopes_categories_and_modules_is_the_total_to_the_microgram(example):
    results = unit_results(example, 2025)
    assert results.total_kg == Decimal("28700")
    assert sum(s.kg for s in results.scopes) == results.total_kg
    assert sum(c.kg for c in results.categories if c.kg is not None) == results.total_kg
    assert sum(m.kg for m in results.modules if m.kg is not None) == results.total_kg
    travel = next(m for m in results.modules if m.module is Module.professional_travel)
    assert travel.kg == Decimal("12000.000000") and travel.change_percent == 0
    assert results.kg_per_fte == Decimal("28700") / Decimal("120")


# ------------------------------------------------------------------------------------ validated only
def test_an_unvalidated_module_never_counts_until_validated(example):
    before = unit_results(example, 2025)
    set_status(example, 2025, Module.purchase)
    after = unit_results(example, 2025)
    assert after.total_kg == before.total_kg + Decimal("999999.5")
    assert next(c for c in after.categories if c.category == "purchases").kg == Decimal("999999.5")
    set_status(example, 2025, Module.purchase, status=ModuleStatus.IN_PROGRESS)  # an edit puts it back
    assert unit_results(example, 2025).total_kg == before.total_kg


def test_nothing_validated_gives_null_not_zero(tree, year):
    unit = tree["it4r"]
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "42"})
    set_status(unit, 2025, Module.equipment, status=ModuleStatus.IN_PROGRESS)
    data = serialized(unit, 2025)
    for key in ("total_kg", "total_t", "previous_total_kg", "previous_total_t", "change_percent", "fte",
                "kg_per_fte", "t_per_fte", "car_km"):
        assert data[key] is None, key
    assert data["validated_modules"] == 0
    assert [row["kg"] for row in data["scopes"]] == [None, None, None]
    assert all(row["kg"] is None and row["validated"] is False for row in data["categories"])
    assert all(row["kg"] is None for row in data["modules"])
    assert [row["module"] for row in data["missing"]] == [m.name for m in Module]
    assert data["car_km_kg_co2eq_per_km"] == "0.1700"  # the factor is always there


def test_a_validated_module_without_rows_counts_as_zero(tree, year):
    unit = tree["it4r"]
    set_status(unit, 2025, Module.process_emissions)
    data = serialized(unit, 2025)
    assert (data["total_kg"], data["car_km"]) == ("0.000", "0")
    assert by_module(data)["process_emissions"]["kg"] == "0.000"


def test_embodied_energy_is_in_the_total_and_its_own_category(tree, year):
    unit = tree["it4r"]
    emit(unit, 2025, Module.buildings, {ROOM_LIGHTING_OFFICE: "100", NATURAL_GAS: "240", EMBODIED: "5000"})
    set_status(unit, 2025, Module.buildings)
    results = unit_results(unit, 2025)
    assert results.total_kg == Decimal("5340")
    categories = {c.category: c.kg for c in results.categories}
    assert categories["buildings"] == Decimal("340")  # rooms + combustion
    assert categories["buildings__construction_and_renovation"] == Decimal("5000")
    assert {s.scope: s.kg for s in results.scopes} == {1: Decimal("240"), 2: Decimal("100"), 3: Decimal("5000")}
    assert next(m for m in results.modules if m.module is Module.buildings).kg == Decimal("5340")


# ------------------------------------------------------------------------------------ FTE, previous year
def test_fte_needs_validated_headcount(tree, year):
    unit = tree["it4r"]
    headcount_fte(unit, 2025, ["0.5", "0.25"], "3.125")
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "1000"})
    set_status(unit, 2025, Module.equipment)
    results = unit_results(unit, 2025)
    assert results.fte is None and results.kg_per_fte is None  # headcount in progress/not started
    set_status(unit, 2025, Module.headcount)
    results = unit_results(unit, 2025)
    assert results.fte == Decimal("3.875")
    assert results.kg_per_fte == Decimal("1000") / Decimal("3.875")
    assert serialized(unit, 2025)["t_per_fte"] == "0.258"  # 1 t / 3.875 = 0.25806…


def test_validated_headcount_with_zero_fte_has_no_per_fte_figure(tree, year):
    unit = tree["it4r"]
    headcount_fte(unit, 2025, ["0"], None)
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "1000"})
    set_status(unit, 2025, Module.headcount, Module.equipment)
    data = serialized(unit, 2025)
    assert data["fte"] == "0.000"
    assert (data["kg_per_fte"], data["t_per_fte"]) == (None, None)
    assert by_module(data)["equipment"]["t_per_fte"] is None


def test_previous_year_with_nothing_validated_gives_null_previous_values(tree, year):
    unit = tree["it4r"]
    year_create(year=2024)
    emit(unit, 2024, Module.equipment, {EQUIPMENT_IT: "5000"})  # 2024 in progress: not a result
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "4500"})
    set_status(unit, 2025, Module.equipment)
    results = unit_results(unit, 2025)
    assert (results.previous_total_kg, results.change_percent) == (None, None)
    assert next(m for m in results.modules if m.module is Module.equipment).previous_kg is None


def test_no_previous_report_gives_null_previous_values(tree, year):
    unit = tree["it4r"]
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "4500"})
    set_status(unit, 2025, Module.equipment)
    data = serialized(unit, 2025)
    assert (data["previous_total_kg"], data["change_percent"]) == (None, None)
    assert by_module(data)["equipment"]["previous_kg"] is None


@pytest.mark.parametrize(("now", "before", "percent"), [
    ("4500", "5000", "-10.00"), ("0", "5000", "-100.00"), ("4000", "2000", "100.00"),
    ("5000.001", "5000", "0.00"), ("4999.9999", "5000", "0.00"),  # rounds half up, and never "-0.00"
])
def test_change_percent_edge_cases(tree, year, now, before, percent):
    unit = tree["it4r"]
    year_create(year=2024)
    emit(unit, 2025, Module.professional_travel, {PLANE_ECO: now})
    emit(unit, 2024, Module.professional_travel, {PLANE_ECO: before})
    set_status(unit, 2025, Module.professional_travel)
    set_status(unit, 2024, Module.professional_travel)
    data = serialized(unit, 2025)
    assert data["change_percent"] == percent
    assert by_module(data)["professional_travel"]["change_percent"] == percent


def test_car_km_follows_the_setting(tree, year, settings):
    unit = tree["it4r"]
    emit(unit, 2025, Module.professional_travel, {PLANE_ECO: "4000"})
    set_status(unit, 2025, Module.professional_travel)
    settings.CAR_KM_KG_CO2EQ_PER_KM = Decimal("0.2")
    data = serialized(unit, 2025)
    assert (data["car_km"], data["car_km_kg_co2eq_per_km"]) == ("20000", "0.2000")
    for bad in (Decimal(0), Decimal("-0.5")):
        settings.CAR_KM_KG_CO2EQ_PER_KM = bad
        with pytest.raises(ImproperlyConfigured):
            unit_results(unit, 2025)


def test_settings_default_factor_and_source():
    from config import settings as project_settings

    assert isinstance(project_settings.CAR_KM_KG_CO2EQ_PER_KM, Decimal)
    assert project_settings.CAR_KM_SOURCE


def test_a_disabled_module_is_not_asked_for(tree, year):
    unit = tree["it4r"]
    ModuleSetting.objects.filter(year_id=2025, module=Module.process_emissions).update(enabled=False)
    results = unit_results(unit, 2025)
    assert Module.process_emissions not in {m.module for m in results.missing}
    assert next(m for m in results.modules if m.module is Module.process_emissions).enabled is False
    assert len(results.missing) == 7


def test_unit_without_a_report_raises_does_not_exist(tree):
    with pytest.raises(CarbonReport.DoesNotExist):
        unit_results(tree["it4r"], 2031)


# ------------------------------------------------------------------------------------ query budget
def test_query_count_is_constant(tree, year, django_assert_max_num_queries):
    unit = tree["it4r"]
    year_create(year=2024)
    emit(unit, 2025, Module.equipment, {EQUIPMENT_IT: "1"})
    set_status(unit, 2025, Module.equipment)
    with CaptureQueriesContext(connection) as small:
        unit_results(unit, 2025)
    # Many more rows, members and validated modules in both years: the same number of queries.
    headcount_fte(unit, 2025, [str(Decimal(i % 10) / 10) for i in range(200)], "12")
    headcount_fte(unit, 2024, ["1"] * 3, "4")
    for y in (2024, 2025):
        for module in Module:
            leaves = [leaf.id for leaf in taxonomy.leaves_of(module)][:20]
            for _ in range(5):
                emit(unit, y, module, dict.fromkeys(leaves, "1.5"))
        set_status(unit, y, *Module)
    assert len(small.captured_queries) <= 2
    with django_assert_max_num_queries(len(small.captured_queries)):
        results = unit_results(unit, 2025)
    assert results.validated_modules == 8 and results.fte is not None
    assert results.total_kg == kg_sum(module_report__report__unit=unit, year=2025)
    assert results.previous_total_kg == kg_sum(module_report__report__unit=unit, year=2024)


# ------------------------------------------------------------------------------------ schema
class _ResultsView(APIView):
    serializer_class = UnitResultsSerializer

    def get(self, request):  # pragma: no cover - only its schema is generated
        raise NotImplementedError


def test_openapi_schema_documents_strings_and_nulls():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(patterns=[path("results/", _ResultsView.as_view())]).get_schema(request=None,
                                                                                         public=True)
    components = schema["components"]["schemas"]
    results = components["UnitResults"]["properties"]
    assert results["total_kg"]["type"] == "string" and results["total_kg"]["format"] == "decimal"
    assert results["total_kg"]["nullable"] is True
    assert results["modules"]["items"]["$ref"].endswith("/ModuleResult")
    module = components["ModuleResult"]["properties"]
    status = components[module["status"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert status["enum"] == ["not_started", "in_progress", "validated"]
    assert set(components["MissingModule"]["properties"]) == {"module", "label", "status", "message"}
