"""The demo campaign (fixtures/demo/2025/) end to end: `load_demo`, then the results export checked against
numbers computed by hand from the demo files, the report invariants, idempotence and the validated modules.

Hand computations (every product below is exact to the gram: the demo values were chosen so that no
emission row needs rounding).

Headcount, per FTE (factors_member.csv / factors_student.csv; every headcount leaf is scope 3):
  member  food      60 × 0.9 + 100 × 2.6 = 54 + 260 = 314
          waste     45 × 0.55 + 8 × 0.05 + 12 × 0.04 + 20 × 0.02 + 10 × 0.02 + 3 × 0.1 + 4 × 0.03 + 1.5 × 0.2
                    = 24.75 + 0.4 + 0.48 + 0.4 + 0.2 + 0.3 + 0.12 + 0.3 = 26.95
          commuting 3000 × 0.03 + 1200 × 0.19 + 400 × 0.01 + 150 × 0 + 100 × 0.11 = 90 + 228 + 4 + 0 + 11 = 333
  student food      80 × 0.9 + 80 × 2.6 = 72 + 208 = 280
          waste     30 × 0.55 + 8 × 0.04 + 15 × 0.02 + 2 × 0.1 = 16.5 + 0.32 + 0.3 + 0.2 = 17.32
          commuting 2500 × 0.03 + 200 × 0.19 + 600 × 0.01 + 300 × 0 = 75 + 38 + 6 + 0 = 119
Plane: one trip = round(haversine of the airportsdata coordinates) + 95 km; kg = km × trips × ef × RFI 1.35, the
  band being short_to_medium_haul below 2500 km (economy 0.2906 → 0.39231 with RFI, business 0.4471 → 0.603585),
  else medium_to_long_haul (economy 0.1902 → 0.25677).
Train: one trip = round(round(haversine of stations.csv) × 1.2) km; kg = km × trips × ef of the country.
Room: base = surface × allocation ratio × ef 0.125; kg = base × (lighting + cooling + ventilation + heating ×
  conversion_factor) kWh/m², heating booked electric (heat pumps, cf 0.3) except in ELA (thermal, cf 1.2).
  Embodied energy = whole surface × (3.5 + 5 + 2 + 2.5 + 0.5 = 13.5) kg/m² (default), GC: 3 + 4.2 + 2.6 + 3.4 +
  0.4 = 13.6.
Equipment: kWh = (active h × W + standby h × W) × 52 / 1000, × 0.125 kg/kWh.
Exchange rates 2025 (1 EUR =): CHF 0.9370, USD 1.1300.
AI: kg = requests/day × 5 × 46 × fte × g/request / 1000 (1_5 → 3, 5_20 → 12.5, 20_100 → 60).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Count, Sum

from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import CATEGORIES, EntryKind, Module
from config.management.commands.load_demo import CAMPAIGN_DIR, VALIDATED_FILE
from modules.registry import KINDS
from reporting.selectors import RESULTS_COLUMNS

YEAR = "2025"
AMOUNTS = RESULTS_COLUMNS[3:]  # scope1 … buildings__construction_and_renovation

# ---------------------------------------------------------------------------------------------------------
# APRL (13036): the small lab, one or two rows per kind.
APRL = {
    "year": "2025", "unit_institutional_id": "13036", "unit_path_name": "EPFL ENAC IIE APRL",
    # combustion heating_oil 800 kWh × 0.3 = 240 + process R134a 0.2 kg × 1530 = 306
    "scope1": "546",
    # rooms 1457 + 179 (below) = 1636 + equipment 1092
    "scope2": "2728",
    # headcount 1031 + 75.065 + 737.5 = 1843.565; + travel 1639.34932 = 3482.91432; + embodied 1078.65 = 4561.56432;
    # + external 16.91625 = 4578.48057; + purchases 3670 = 8248.48057; + research facilities 2386.0364
    "scope3": "10634.51697",
    "total": "13908.51697",  # 546 + 2728 + 10634.51697
    "process_emissions": "306",  # R134a 0.2 × 1530
    # BC 233 laboratories 62.0 m² (BC laboratories row): 62 × 1 × 0.125 = 7.75 × (25 + 45 + 85 + 110 × 0.3 = 188) = 1457
    # BC 161 office 17.9 m² (BC fallback row): 17.9 × 0.125 = 2.2375 × (18 + 15 + 20 + 90 × 0.3 = 80) = 179
    # heating oil 800 × 0.3 = 240 → 1457 + 179 + 240
    "buildings": "1876",
    # Aerodyne ToF-ACSM (aerosol instruments, defaults): 168 h × 150 W = 25200 Wh × 52 / 1000 = 1310.4 kWh × 0.125
    # = 163.8; -80 freezer (ultra-low temperature): 168 × 850 = 142800 × 52 / 1000 = 7425.6 × 0.125 = 928.2
    "equipment": "1092",
    # cloud: Switch storage 600 CHF × 0.02 CHF factor = 12
    # AI: Mistral AI text 5_20, 1.5 FTE, 1.14 g: 12.5 × 5 × 46 = 2875 × 1.5 = 4312.5 × 1.14 / 1000 = 4.91625
    "external": "16.91625",
    # plane GVA→HEL economy × 2: haversine 1990.6 → 1991 + 95 = 2086 km (short haul) × 2 = 4172 × 0.39231 = 1636.71732
    # train Lausanne→Bern (CH) × 4: 78 × 1.2 = 93.6 → 94 km × 4 = 376 × 0.007 = 2.632
    "professional_travel": "1639.34932",
    # condensation particle counter 9370 CHF / 0.937 = 10000 EUR × 0.32 = 3200; quartz filters 1000 EUR × 0.45 = 450;
    # dry ice 50 kg × 1 × 0.4 = 20 → 3200 + 450 + 20
    "purchases": "3670",
    # LMC platform (computed sum, see LMC): 24 h / 2400 h × 27803.64 = 278.0364
    # CPG mice 90 / 9000 housings × (0.9 × 1800 + 0.85 × 12000 + 0.85 × 64000 + 0.8 × 150000 + 0.9 × 4200 + 0.8 × 26000
    #   = 1620 + 10200 + 54400 + 120000 + 3780 + 20800 = 210800) = 2108 → 278.0364 + 2108
    "research_facilities": "2386.0364",
    "commuting": "737.5",  # members 1.0 + 0.5 = 1.5 FTE × 333 = 499.5 + students 2 × 119 = 238
    "food": "1031",  # 1.5 × 314 = 471 + 2 × 280 = 560
    "waste": "75.065",  # 1.5 × 26.95 = 40.425 + 2 × 17.32 = 34.64
    "buildings__construction_and_renovation": "1078.65",  # (62 + 17.9) m² × 13.5 = 79.9 × 13.5
}
# validated: headcount 1843.565 + purchase 3670 + research facilities 2386.0364
APRL_VALIDATED = ("7899.6014", "3/8")

# ---------------------------------------------------------------------------------------------------------
# LMC (14021): the facility unit. Its process + buildings (with embodied energy) + equipment + purchases make the
# kg_co2eq_sum of the `14021` research-facility factor, which the file leaves empty:
#   2956.6 + 7511.3 + 1409.4 + 4130.1 + 11796.24 = 27803.64
LMC_FACILITY_SUM = "27803.64"
LMC = {
    "year": "2025", "unit_institutional_id": "14021", "unit_path_name": "EPFL STI IMX LMC",
    # process 2956.6 + combustion 4104 + 358.8 = 4462.8
    "scope1": "7419.4",
    # rooms 2467.15 + 581.35 = 3048.5 + equipment 4130.1
    "scope2": "7178.6",
    # headcount 722.2 + 61.985 + 765.9 = 1550.085; + travel 1.96 = 1552.045; + embodied 1409.4 = 2961.445;
    # + purchases 11796.24
    "scope3": "14757.685",
    "total": "29355.685",  # 7419.4 + 7178.6 + 14757.685
    # CO2 250 × 1 = 250; R410A 1.2 × 2255.5 = 2706.6
    "process_emissions": "2956.6",
    # CH G1 495 laboratories 74.2 m² (CH laboratories row): 74.2 × 0.125 = 9.275 × (30 + 60 + 140 + 120 × 0.3 = 266)
    #   = 2467.15
    # ELA 0 10 miscellaneous 30.2 m² (ELA fallback row, thermal): 30.2 × 0.125 = 3.775 × (18 + 15 + 25 + 80 × 1.2 = 154)
    #   = 581.35
    # natural gas 18000 kWh × 0.228 = 4104; propane 1560 kWh × 0.23 = 358.8
    # → 2467.15 + 581.35 + 4104 + 358.8
    "buildings": "7511.3",
    # 2 high-temperature furnaces: (20 × 8000 + 148 × 200) = 189600 Wh × 52 / 1000 = 9859.2 kWh × 0.125 = 1232.4, × 2
    #   = 2464.8
    # SEM: (30 × 2500 + 138 × 800) = 185400 × 52 / 1000 = 9640.8 × 0.125 = 1205.1
    # press: (10 × 5500 + 158 × 100) = 70800 × 52 / 1000 = 3681.6 × 0.125 = 460.2
    "equipment": "4130.1",  # 2464.8 + 1205.1 + 460.2
    "external": "0",
    # train Lausanne→Neuchâtel (CH) × 4: 58 × 1.2 = 69.6 → 70 km × 4 = 280 × 0.007
    "professional_travel": "1.96",
    # powders 12500 EUR (additional code N → 0.65) = 8125; crucibles 4600 EUR × 0.45 = 2070;
    # SEM parts 2900 EUR (additional code NB61 → 0.35) = 1015;
    # liquid nitrogen 2000 L × 0.808 = 1616 kg × 0.19 = 307.04; liquid argon 800 L × 1.396 = 1116.8 kg × 0.25 = 279.2
    "purchases": "11796.24",  # 8125 + 2070 + 1015 + 307.04 + 279.2
    "research_facilities": "0",
    "commuting": "765.9",  # members 0.5 + 1.0 + 0.8 = 2.3 FTE × 333, no students
    "food": "722.2",  # 2.3 × 314
    "waste": "61.985",  # 2.3 × 26.95
    "buildings__construction_and_renovation": "1409.4",  # (74.2 + 30.2) m² × 13.5 (default) = 1001.7 + 407.7
}

# ---------------------------------------------------------------------------------------------------------
# IT4R (13032): the principal's lab of the demo logins.
IT4R = {
    "year": "2025", "unit_institutional_id": "13032", "unit_path_name": "EPFL ENAC SG IT4R",
    # process R32 0.3 × 771 = 231.3 + combustion diesel 150 L × 3.17 = 475.5
    "scope1": "706.8",
    # rooms 209.79375 + 206.6625 = 416.45625 + equipment 2264.509
    "scope2": "2680.96525",
    # headcount 1801.6 + 144.56 + 1643.7 = 3589.86; + travel 4713.062175 = 8302.922175; + embodied 542.64 =
    # 8845.562175; + external 1335.3866 = 10180.948775; + purchases 6486 = 16666.948775; + SCITAS 525
    "scope3": "17191.948775",
    "total": "20579.714025",  # 706.8 + 2680.96525 + 17191.948775
    "process_emissions": "231.3",
    # GC A3 444 office 20.1 m² (GC fallback row): 20.1 × 0.125 = 2.5125 × (18 + 12 + 22 + 105 × 0.3 = 83.5) = 209.79375
    # GC A3 454 office 19.8 m²: 19.8 × 0.125 = 2.475 × 83.5 = 206.6625
    # diesel 475.5 → 209.79375 + 206.6625 + 475.5
    "buildings": "891.95625",
    # 2 laptops (defaults): (40 × 30 + 128 × 1) = 1328 × 52 / 1000 = 69.056 × 0.125 = 8.632, × 2 = 17.264
    # GPU workstation 60 h / 108 h: (60 × 450 + 108 × 5) = 27540 × 52 / 1000 = 1432.08 × 0.125 = 179.01
    # GPU node: 168 × 1500 = 252000 × 52 / 1000 = 13104 × 0.125 = 1638
    # server: 168 × 350 = 58800 × 52 / 1000 = 3057.6 × 0.125 = 382.2
    # monitor: (40 × 25 + 128 × 0.5) = 1064 × 52 / 1000 = 55.328 × 0.125 = 6.916
    # coffee machine: (5 × 1200 + 163 × 2) = 6326 × 52 / 1000 = 328.952 × 0.125 = 41.119
    "equipment": "2264.509",  # 17.264 + 179.01 + 1638 + 382.2 + 6.916 + 41.119
    # cloud: AWS compute 8000 × 0.09 = 720; AWS storage 2400 × 0.04 = 96; Exoscale 3600 CHF × 0.05 = 180;
    #   Switch 5000 CHF × 0.03 = 150 → 1146
    # AI: ChatGPT text 5_20 × 4 FTE × 2 g: 2875 × 4 × 2 / 1000 = 23; Claude code 20_100 × 2 × 3 g: 60 × 230 × 2 × 3
    #   / 1000 = 82.8; Copilot (GitHub) code, same = 82.8; Mistral text 1_5 × 1 × 1.14 g: 3 × 230 × 1.14 / 1000 = 0.7866
    #   → 189.3866
    "external": "1335.3866",  # 1146 + 189.3866
    # GVA→AMS economy × 2: 682 + 95 = 777 km × 2 = 1554 × 0.39231 = 609.64974
    # ZRH→BOS economy × 2: 6010 + 95 = 6105 km (long haul) × 2 = 12210 × 0.25677 = 3135.1617
    # GVA→LIS business × 1: 1496 + 95 = 1591 km × 0.603585 = 960.303735
    # train Lausanne→Zürich HB (CH) × 2: 174 × 1.2 = 208.8 → 209 × 2 = 418 × 0.007 = 2.926
    # train Lausanne→Paris Gare de Lyon (FR) × 2: 410 × 1.2 = 492 × 2 = 984 × 0.004 = 3.936
    # train Genève→Bern (CH) first × 1: 129 × 1.2 = 154.8 → 155 × 0.007 = 1.085
    "professional_travel": "4713.062175",  # 609.64974 + 3135.1617 + 960.303735 + 2.926 + 3.936 + 1.085
    # laptops 5622 CHF / 0.937 = 6000 EUR × 0.55 = 3300; monitors 2700 EUR × 0.48 = 1296;
    # docks 339 USD / 1.13 = 300 EUR × 0.6 (additional code IA23) = 180; hosting 12000 CHF × 0.12 CHF factor = 1440;
    # office supplies 450 EUR × 0.6 = 270
    "purchases": "6486",  # 3300 + 1296 + 180 + 1440 + 270
    "research_facilities": "525",  # SCITAS 150000 / 60000000 core-hours × 210000
    "commuting": "1643.7",  # members 1 + 1 + 0.8 + 0.6 + 1 = 4.4 FTE × 333 = 1465.2 + students 1.5 × 119 = 178.5
    "food": "1801.6",  # 4.4 × 314 = 1381.6 + 1.5 × 280 = 420
    "waste": "144.56",  # 4.4 × 26.95 = 118.58 + 1.5 × 17.32 = 25.98
    "buildings__construction_and_renovation": "542.64",  # GC rows: (20.1 + 19.8) m² × 13.6 = 39.9 × 13.6
}
# validated: headcount 3589.86 + professional travel 4713.062175
IT4R_VALIDATED = ("8302.922175", "2/8")

# Other users of the LMC platform (the computed sum 27803.64):
#   LCBM 180 h / 2400 × 27803.64 = 2085.273
#   POWERLAB 60 h / 2400 × 27803.64 = 695.091, + CMi 300 h / 40000 × 520000 = 3900 → 4595.091
RESEARCH_FACILITIES = {"13033": "2085.273", "14012": "4595.091"}


# ---------------------------------------------------------------------------------------------------------
# `demo` (conftest): the demo loaded once for this module, each test rolled back to it.
def export_text() -> str:
    out = io.StringIO()
    call_command("export_report", "results", "--year", YEAR, stdout=out)
    return out.getvalue()


def results() -> dict[str, dict[str, str]]:
    return {row["unit_institutional_id"]: row for row in csv.DictReader(io.StringIO(export_text()))}


def contract(row: dict[str, str]) -> dict:
    """The 18 contract columns, the amounts as Decimals (so '1031' and '1031.000000' compare equal)."""
    return {c: Decimal(row[c]) if c in AMOUNTS else row[c] for c in RESULTS_COLUMNS}


def validated_rows() -> list[tuple[str, Module]]:
    with open(CAMPAIGN_DIR / VALIDATED_FILE, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        return [(row["cf"], Module.from_name(row["module"])) for row in rows]


def counts() -> dict[str, int]:
    found = {name: spec.model.objects.count() for name, spec in KINDS.items()}
    found["emissions"] = Emission.objects.count()
    return found


# ---------------------------------------------------------------------------------------------------------
def test_results_match_the_hand_computed_numbers(demo):
    rows = results()
    assert list(next(iter(rows.values())))[:18] == RESULTS_COLUMNS
    for expected in (APRL, LMC, IT4R):
        assert contract(rows[expected["unit_institutional_id"]]) == contract(expected), expected["unit_path_name"]
    for cf, (total_validated, modules) in {"13036": APRL_VALIDATED, "13032": IT4R_VALIDATED}.items():
        assert (Decimal(rows[cf]["total_validated"]), rows[cf]["validated_modules"]) == (
            Decimal(total_validated), modules)
    for cf, kg in RESEARCH_FACILITIES.items():
        assert Decimal(rows[cf]["research_facilities"]) == Decimal(kg), cf


def test_facility_sum_is_computed_from_the_facility_units_results(demo):
    facility_rows = Emission.objects.filter(kind=EntryKind.research_facility, unit__institutional_id="13036")
    row = facility_rows.get()
    assert Decimal(row.factor_values["kg_co2eq_sum"]) == Decimal(LMC_FACILITY_SUM)
    assert row.factor_values["kg_co2eq_sum_computed"] is True
    assert row.kg_co2eq == Decimal("278.036400")  # 24 / 2400 × 27803.64
    own = (Emission.objects.filter(unit__institutional_id="14021", year=2025, module__in=[
        Module.process_emissions, Module.buildings, Module.equipment, Module.purchase]).aggregate(s=Sum("kg_co2eq")))
    assert own["s"] == Decimal(LMC_FACILITY_SUM)


def test_every_report_row_adds_up(demo):
    rows = results()
    with_data = 0
    for cf, row in rows.items():
        scopes = sum((Decimal(row[f"scope{s}"]) for s in (1, 2, 3)), Decimal(0))
        categories = sum((Decimal(row[c]) for c in CATEGORIES), Decimal(0))
        assert scopes == Decimal(row["total"]) == categories, cf
        with_data += Decimal(row["total"]) > 0
    assert with_data >= 10
    # The data covers the eight modules in at least six labs.
    modules_per_unit = defaultdict(set)
    for unit, module in Emission.objects.filter(year=2025).values_list("unit__institutional_id", "module").distinct():
        modules_per_unit[unit].add(module)
    assert sum(len(modules) == len(Module) for modules in modules_per_unit.values()) >= 6
    for module in Module:
        assert sum(module in modules for modules in modules_per_unit.values()) >= 6, module.name


def test_validated_modules_and_the_validated_total(demo):
    validated = validated_rows()
    assert validated
    for cf, module in validated:
        status = ModuleReport.objects.get(report__unit__institutional_id=cf, report__year_id=2025,
                                          module=module).status
        assert status == ModuleStatus.VALIDATED, (cf, module.name)
    assert ModuleReport.objects.filter(report__year_id=2025, status=ModuleStatus.VALIDATED).count() == len(validated)
    per_module = {(cf, module): kg for cf, module, kg in Emission.objects.filter(year=2025).values_list(
        "unit__institutional_id", "module").order_by().annotate(kg=Sum("kg_co2eq"))}
    expected = defaultdict(Decimal)
    for cf, module in validated:
        expected[cf] += per_module.get((cf, module.value), Decimal(0))
    for cf, row in results().items():  # a unit's own rows (parent rows roll up their subtree: issue #12)
        assert Decimal(row["own_total_validated"]) == expected.get(cf, Decimal(0)), cf
    # LCBM's validated buildings module: rooms and combustion 6373.715 + embodied energy 3305.56
    assert Decimal(results()["13033"]["total_validated"]) == Decimal("9679.275")


def test_load_demo_twice_gives_the_same_campaign(demo):
    before_export, before_counts = export_text(), counts()
    before_status = sorted(ModuleReport.objects.values_list("pk", "status"))
    per_kind = dict(Emission.objects.values_list("kind").order_by().annotate(n=Count("pk")))
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert export_text() == before_export
    assert counts() == before_counts
    assert dict(Emission.objects.values_list("kind").order_by().annotate(n=Count("pk"))) == per_kind
    assert sorted(ModuleReport.objects.values_list("pk", "status")) == before_status
    assert "validated: 13032 2025 headcount" in out.getvalue()
    assert before_counts["member"] == 46 and before_counts["plane"] == 30
