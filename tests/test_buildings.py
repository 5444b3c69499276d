"""Buildings end to end: room energy (+ derived embodied energy) and energy combustion."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from carbon import taxonomy
from carbon.models import Emission, ModuleReport
from carbon.taxonomy import EntryKind, Module
from factors.models import BuildingRoom, BuildingRoomFactor, EmbodiedEnergyFactor, EnergyCombustionFactor
from modules.buildings.kind import ROOM_SPEC
from modules.buildings.models import BuildingRoomEntry, EnergyCombustion
from modules.engine import entries_recompute
from modules.registry import ComputeContext
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

REFERENCE_ROOMS = Path(__file__).resolve().parent.parent / "fixtures" / "reference" / "building_rooms.csv"

ROOM_FACTOR_HEADER = ("building_name,room_type,heating_kwh_per_square_meter,cooling_kwh_per_square_meter,"
                      "ventilation_kwh_per_square_meter,lighting_kwh_per_square_meter,ef_kg_co2eq_per_kwh,"
                      "energy_type,conversion_factor\n")
# The PG fixture of reference-domain §8.10: heating 30, cooling 20, ventilation 10, lighting 5, ef 0.1, electric.
PG_FACTOR = ROOM_FACTOR_HEADER + "BC,office,30,20,10,5,0.1,electric,1\n"
ROOMS_HEADER = "unit_institutional_id,building_location,building_name,room_name,room_type,room_allocation_ratio,note\n"
EMBODIED_HEADER = "building_name,category,ef_kgco2eq_per_m2\n"
COMBUSTION_FACTORS = "name,unit,ef_kg_co2eq_per_unit\nnatural_gas,kWh,0.24\nheating_oil,kWh,0.3\npropane,kWh,0.25\n"


def room(name: str, surface, building: str = "BC", room_type: str | None = "office") -> BuildingRoom:
    return BuildingRoom.objects.create(building_location="ECUBLENS", building_name=building, room_name=name,
                                       room_type=room_type, room_surface_square_meter=surface)


def components(entry) -> dict[str, Decimal]:
    """component (lighting …) or 'embodied:<category>' -> kg of one entry's rows."""
    result = {}
    for row in Emission.objects.filter(entry_id=entry.pk, kind__in=[k.value for k in ROOM_SPEC.kinds]):
        if row.kind == EntryKind.building_embodied_energy:
            result[f"embodied:{row.factor_values['category']}"] = row.kg_co2eq
        else:
            result[taxonomy.get(row.emission_type).name.split("__")[2]] = row.kg_co2eq
    return result


def buildings_module(unit_cf: str = "13032") -> ModuleReport:
    return ModuleReport.objects.get(report__unit__institutional_id=unit_cf, report__year=2025, module=Module.buildings)


# ------------------------------------------------------------------------------------------- rooms
def test_pg_fixture_five_leaves_total_65(tmp_path, year, tree):
    room("BC 125", 10)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,ECUBLENS,BC,BC 125,office,1,\n", "--year", "2025")
    entry = BuildingRoomEntry.objects.get()
    assert entry.room.room_name == "BC 125"
    assert components(entry) == {"lighting": Decimal("5"), "cooling": Decimal("20"), "ventilation": Decimal("10"),
                                 "heating_elec": Decimal("30"), "heating_thermal": Decimal("0")}
    assert entry.kg_co2eq == Decimal("65")
    rows = Emission.objects.filter(entry_id=entry.pk)
    assert {r.emission_type for r in rows} == set(taxonomy.room_leaves("office").values())
    assert {(r.kind, r.scope, r.unit_id, r.module) for r in rows} == {
        (EntryKind.building_room, 2, tree["it4r"].pk, Module.buildings)}
    factor = BuildingRoomFactor.objects.get()
    assert {r.factor_id for r in rows} == {factor.pk}
    assert rows.first().factor_values["energy_type"] == "electric"
    stats = buildings_module().stats
    assert (stats["total"], stats["scope2"], stats["entry_count"]) == ("65.000000", "65.000000", 1)
    assert stats["by_category"] == {"buildings": "65.000000"}


@pytest.mark.parametrize(
    ("ratio", "energy_type", "cf", "expected"),
    [
        ("0.5", "electric", "2", {"lighting": 100, "cooling": 100, "ventilation": 100, "heating_elec": 200,
                                  "heating_thermal": 0}),
        ("", "electric", "2", {"lighting": 200, "cooling": 200, "ventilation": 200, "heating_elec": 400,
                               "heating_thermal": 0}),
        ("0.5", "electric", "", {"lighting": 100, "cooling": 100, "ventilation": 100, "heating_elec": 100,
                                 "heating_thermal": 0}),
        ("0.5", "thermal", "3", {"lighting": 100, "cooling": 100, "ventilation": 100, "heating_elec": 0,
                                 "heating_thermal": 300}),
    ],
    ids=["ratio-0.5-electric-cf2", "ratio-null-is-1", "cf-missing-is-1", "thermal-cf3"],
)
def test_reference_unit_numbers(tmp_path, year, ratio, energy_type, cf, expected):
    """reference-domain §8.10: surface 100, 10 kWh/m² everywhere, ef 0.2."""
    room("BC 200", 100)
    import_csv(tmp_path, "factors:building_room",
               ROOM_FACTOR_HEADER + f"BC,office,10,10,10,10,0.2,{energy_type},{cf}\n", "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + f"13032,ECUBLENS,BC,BC 200,office,{ratio},\n",
               "--year", "2025")
    entry = BuildingRoomEntry.objects.get()
    assert components(entry) == {k: Decimal(v) for k, v in expected.items()}
    assert entry.kg_co2eq == sum(Decimal(v) for v in expected.values())


@pytest.mark.parametrize(("alias", "stored"), [("elec", "electric"), ("Electricity", "electric"),
                                               ("THERM", "thermal")])
def test_energy_type_aliases(tmp_path, year, alias, stored):
    import_csv(tmp_path, "factors:building_room", ROOM_FACTOR_HEADER + f"BC,office,1,1,1,1,1,{alias},\n",
               "--year", "2025")
    factor = BuildingRoomFactor.objects.get()
    assert (factor.energy_type, factor.conversion_factor) == (stored, 1)


def test_blank_room_type_factor_is_the_building_fallback(tmp_path, year):
    room("BC 1", 10)
    room("BC 2", 10, room_type="laboratories")
    import_csv(tmp_path, "factors:building_room",
               ROOM_FACTOR_HEADER + "BC,,0,0,0,1,1,electric,\nBC,laboratories,0,0,0,3,1,electric,\n",
               "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 1,office,,\n13032,,BC,BC 2,laboratories,,\n",
               "--year", "2025")
    office, lab = BuildingRoomEntry.objects.order_by("room_name")
    assert components(office)["lighting"] == Decimal("10")  # fallback row (building, '')
    assert components(lab)["lighting"] == Decimal("30")  # the room type's own row wins
    lab_rows = Emission.objects.filter(entry_id=lab.pk)
    assert {r.emission_type for r in lab_rows} == set(taxonomy.room_leaves("laboratories").values())


def test_room_without_room_type_gets_all_five_components_under_miscellaneous(tmp_path, year):
    """Decision 6 (the CSV requires a room type; entries from other surfaces may have none)."""
    import_csv(tmp_path, "factors:building_room", PG_FACTOR.replace("BC,office", "BC,"), "--year", "2025")
    entry = BuildingRoomEntry.objects.create(module_report=buildings_module(), building_name="BC",
                                             room_name="BC 125", room_type="", room=room("BC 125", 10, room_type=None))
    entries_recompute(ROOM_SPEC, [entry], ComputeContext(year=2025))
    rows = Emission.objects.filter(entry_id=entry.pk)
    assert {r.emission_type for r in rows} == set(taxonomy.room_leaves(None).values())
    assert taxonomy.room_leaves(None) == taxonomy.room_leaves("miscellaneous")
    assert components(entry)["heating_elec"] == Decimal("30")  # heating is not silently 0
    entry.refresh_from_db()
    assert entry.kg_co2eq == Decimal("65")


def test_unknown_room_or_surface_keeps_the_entry_without_emission(tmp_path, year, capsys):
    room("BC 07", None)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "default,new-tech,100\n", "--year", "2025")
    import_csv(tmp_path, "building_room",
               ROOMS_HEADER + "13032,,BC,XX 999,office,,\n13032,,BC,BC 07,office,,\n", "--year", "2025")
    out = capsys.readouterr().out
    assert "row 1, column room_name: unknown room 'XX 999'" in out
    assert "row 2, column room_name: room 'BC 07' has no known surface" in out
    assert BuildingRoomEntry.objects.count() == 2
    assert BuildingRoomEntry.objects.get(room_name="XX 999").room_id is None
    assert not Emission.objects.exists()
    assert set(BuildingRoomEntry.objects.values_list("kg_co2eq", flat=True)) == {None}


def test_room_name_matches_ignoring_case_and_spacing_and_warns_on_another_building(tmp_path, year, capsys):
    known = room("BC 125", 10)
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,CE,bc  125,office,,\n", "--year", "2025")
    assert BuildingRoomEntry.objects.get().room_id == known.pk
    out = capsys.readouterr().out
    assert "row 1, column building_name: room 'bc  125' is in building 'BC' in the reference rooms" in out
    assert "no building_room factor for building 'CE' (room type office) in 2025" in out


def test_no_factor_warns_once_per_building_and_type(tmp_path, year, capsys):
    room("BC 1", 10)
    room("BC 2", 10)
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 1,office,,\n13032,,BC,BC 2,office,,\n",
               "--year", "2025")
    assert capsys.readouterr().out.count("no building_room factor") == 1
    assert not Emission.objects.exists()


def test_room_override_is_refused(tmp_path, year, capsys):
    room("BC 125", 10)
    with pytest.raises(CommandError):
        import_csv(tmp_path, "building_room",
                   "unit_institutional_id,building_name,room_name,room_type,kg_co2eq\n13032,BC,BC 125,office,12\n",
                   "--year", "2025")
    assert "row 1, column kg_co2eq: override not supported for this kind" in capsys.readouterr().out
    assert not BuildingRoomEntry.objects.exists()


# --------------------------------------------------------------------------------- embodied energy
def test_embodied_energy_5000_then_10000_after_factor_reimport(tmp_path, year):
    """reference-domain §8.11, with the two-entry variant (5,000 / 8,000 → 10,000 / 16,000)."""
    room("BC 1", 50)
    room("BC 2", 80)
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "default,new-tech,100\n", "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 1,office,0.5,\n13032,,BC,BC 2,office,,\n",
               "--year", "2025")
    rows = Emission.objects.filter(kind=EntryKind.building_embodied_energy).order_by("kg_co2eq")
    assert [r.kg_co2eq for r in rows] == [Decimal("5000"), Decimal("8000")]  # no allocation ratio
    assert {(r.emission_type, r.scope, r.module) for r in rows} == {(taxonomy.EMBODIED_ENERGY_LEAF, 3,
                                                                     Module.buildings)}
    assert rows[0].factor_id == EmbodiedEnergyFactor.objects.get().pk
    assert not Emission.objects.filter(kind=EntryKind.building_room).exists()  # no room factor: embodied only
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "Default,new_tech,200\n", "--year", "2025")
    assert EmbodiedEnergyFactor.objects.count() == 1  # same identity: upserted
    assert sorted(BuildingRoomEntry.objects.values_list("kg_co2eq", flat=True)) == [Decimal("10000"),
                                                                                     Decimal("16000")]
    stats = buildings_module().stats
    assert stats["by_category"] == {"buildings__construction_and_renovation": "26000.000000"}
    assert (stats["scope3"], stats["total"], stats["entry_count"]) == ("26000.000000", "26000.000000", 2)


def test_embodied_uses_the_buildings_own_rows_else_default_and_adds_to_the_entry(tmp_path, year):
    room("BC 125", 10)
    room("CE 1 1", 2, building="CE")
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "factors:embodied_energy",
               EMBODIED_HEADER + "BC,new-tech,10\nBC,demolition,1\ndefault,new-tech,100\ndefault,ren-env,7\n",
               "--year", "2025")
    import_csv(tmp_path, "building_room",
               ROOMS_HEADER + "13032,,BC,BC 125,office,,\n13032,,CE,CE 1 1,office,,\n", "--year", "2025")
    bc = BuildingRoomEntry.objects.get(room_name="BC 125")
    ce = BuildingRoomEntry.objects.get(room_name="CE 1 1")
    assert {k: v for k, v in components(bc).items() if k.startswith("embodied")} == {
        "embodied:new-tech": Decimal("100"), "embodied:demolition": Decimal("10")}
    assert components(ce) == {"embodied:new-tech": Decimal("200"), "embodied:ren-env": Decimal("14")}
    assert bc.kg_co2eq == Decimal("175")  # 65 room energy + 110 embodied
    stats = buildings_module().stats
    assert stats["by_category"] == {"buildings": "65.000000", "buildings__construction_and_renovation": "324.000000"}
    assert (stats["scope2"], stats["scope3"], stats["total"]) == ("65.000000", "324.000000", "389.000000")


def test_two_rooms_of_a_lab_each_count_their_embodied_energy(tmp_path, year):
    room("BC 1", 50)
    room("BC 2", 50)
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "default,new-tech,100\n", "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 1,office,,\n13032,,BC,BC 2,office,,\n",
               "--year", "2025")
    assert kg(kind=EntryKind.building_embodied_energy) == Decimal("10000")


# ----------------------------------------------------------------------- replace, re-import, recalculate
def test_reimport_of_a_per_year_file_changes_nothing_and_replace_drops_embodied_rows(tmp_path, year):
    room("BC 125", 10)
    room("BC 126", 20)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "default,new-tech,100\n", "--year", "2025")
    both = ROOMS_HEADER + "13032,,BC,BC 125,office,,\n13032,,BC,BC 126,office,,\n"
    import_csv(tmp_path, "building_room", both, "--year", "2025")
    import_csv(tmp_path, "building_room", both, "--year", "2025")
    assert BuildingRoomEntry.objects.count() == 2
    assert Emission.objects.count() == 12  # 2 × (5 components + 1 embodied)
    assert kg() == Decimal("65") + Decimal("130") + Decimal("1000") + Decimal("2000")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 125,office,,\n", "--year", "2025")
    assert Emission.objects.count() == 6
    assert kg(kind=EntryKind.building_embodied_energy) == Decimal("1000")
    assert buildings_module().stats["total"] == "1065.000000"


def test_room_factor_reimport_doubles_room_kg_only(tmp_path, year):
    room("BC 125", 10)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "factors:embodied_energy", EMBODIED_HEADER + "default,new-tech,100\n", "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 125,office,,\n", "--year", "2025")
    import_csv(tmp_path, "factors:building_room", PG_FACTOR.replace(",0.1,", ",0.2,"), "--year", "2025")
    assert kg(kind=EntryKind.building_room) == Decimal("130")
    assert kg(kind=EntryKind.building_embodied_energy) == Decimal("1000")
    assert BuildingRoomEntry.objects.get().kg_co2eq == Decimal("1130")
    assert BuildingRoomFactor.objects.count() == 1


def test_surface_is_read_at_compute_time(tmp_path, year):
    known = room("BC 125", 10)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "building_room", ROOMS_HEADER + "13032,,BC,BC 125,office,,\n", "--year", "2025")
    BuildingRoom.objects.filter(pk=known.pk).update(room_surface_square_meter=20)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")  # unchanged file, recalculates
    assert BuildingRoomEntry.objects.get().kg_co2eq == Decimal("130")


# ----------------------------------------------------------------------------------- bad input
GOOD_ROOM = ROOMS_HEADER + "13032,ECUBLENS,BC,BC 125,office,1,\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ROOMS_HEADER + "13032,,BC,BC 125,office,1.5,\n",
         "row 1, column room_allocation_ratio: must be between 0 and 1 (got 1.5)"),
        (ROOMS_HEADER + "13032,,BC,BC 125,office,half,\n",
         "row 1, column room_allocation_ratio: 'half' is not a number"),
        (ROOMS_HEADER + "13032,,BC,BC 125,kitchen,,\n",
         "row 1, column room_type: 'kitchen' is not one of: office, laboratories, archives, libraries, auditoriums, "
         "miscellaneous"),
        (ROOMS_HEADER + "13032,,BC,BC 125,,,\n", "row 1, column room_type: a value is required"),
        (ROOMS_HEADER + "13032,,BC,,office,,\n", "row 1, column room_name: a value is required"),
        (ROOMS_HEADER + "13032,,,BC 125,office,,\n", "row 1, column building_name: a value is required"),
        (ROOMS_HEADER + "99999,,BC,BC 125,office,,\n", "row 1, column unit_institutional_id: unknown unit '99999'"),
        ("unit_institutional_id,building_name,room_name\n13032,BC,BC 125\n",
         "column room_type: missing required column 'room_type'"),
        ("unit_institutional_id,building_name,room_name,room_type,room_allocation_ration\n13032,BC,BC 125,office,1\n",
         "unknown column 'room_allocation_ration' looks like a misspelling of 'room_allocation_ratio'"),
        (ROOMS_HEADER + "13032,,BC,BC 125,office,1,\n13032,,BC," + "R" * 129 + ",office,1,\n",
         "row 2, column room_name: at most 128 characters (got 129)"),
    ],
    ids=["ratio-over-1", "ratio-text", "room-type", "room-type-empty", "room-name-empty", "building-empty",
         "unknown-unit", "missing-column", "typo-column", "too-long"],
)
def test_bad_room_input_writes_nothing(tmp_path, year, capsys, text, message):
    room("BC 125", 10)
    import_csv(tmp_path, "factors:building_room", PG_FACTOR, "--year", "2025")
    import_csv(tmp_path, "building_room", GOOD_ROOM, "--year", "2025")
    before = list(Emission.objects.values_list("pk", "kg_co2eq"))
    capsys.readouterr()
    with pytest.raises(CommandError):
        import_csv(tmp_path, "building_room", text, "--year", "2025")
    assert message in capsys.readouterr().out
    assert list(BuildingRoomEntry.objects.values_list("room_name", "room_allocation_ratio")) == [("BC 125", 1)]
    assert list(Emission.objects.values_list("pk", "kg_co2eq")) == before


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("factors:building_room", ROOM_FACTOR_HEADER + "BC,office,1,1,1,1,0.1,gas,1\n",
         "row 1, column energy_type: 'gas' is not one of: electric, thermal"),
        ("factors:building_room", ROOM_FACTOR_HEADER + "BC,kitchen,1,1,1,1,0.1,electric,1\n",
         "row 1, column room_type: 'kitchen' is not one of"),
        ("factors:building_room", ROOM_FACTOR_HEADER + "BC,office,1,1,1,1,0.1,electric,0\n",
         "row 1, column conversion_factor: must be > 0 (got 0)"),
        ("factors:building_room", ROOM_FACTOR_HEADER + "BC,office,1,-1,1,1,0.1,electric,1\n",
         "row 1, column cooling_kwh_per_square_meter: must be ≥ 0 (got -1)"),
        ("factors:building_room", ROOM_FACTOR_HEADER + "BC,office,1,1,1,,0.1,electric,1\n",
         "row 1, column lighting_kwh_per_square_meter: a value is required"),
        ("factors:building_room",
         ROOM_FACTOR_HEADER + "BC,Office,1,1,1,1,0.1,electric,1\nBC,office,2,2,2,2,1,thermal,\n",
         "row 2, column building_name: duplicate factor (building_name='BC', room_type='office') (also on row 1)"),
        ("factors:embodied_energy", EMBODIED_HEADER + "default,rebuild,1\n",
         "row 1, column category: 'rebuild' is not one of: new-tech, new-env, ren-tech, ren-env, demolition"),
        ("factors:embodied_energy", EMBODIED_HEADER + "default,demolition,-5\n",
         "row 1, column ef_kgco2eq_per_m2: must be ≥ 0 (got -5)"),
        ("factors:energy_combustion", "name,unit,ef_kg_co2eq_per_unit\nNatural gas,kWh,0.2\nnatural_gas,kWh,0.3\n",
         "row 2, column name: duplicate factor (name='natural_gas') (also on row 1)"),
    ],
    ids=["energy-type", "room-type", "cf-zero", "negative-kwh", "empty-kwh", "duplicate", "embodied-category",
         "embodied-negative", "fuel-duplicate"],
)
def test_bad_factor_input_writes_nothing(tmp_path, year, capsys, kind, text, message):
    with pytest.raises(CommandError):
        import_csv(tmp_path, kind, text, "--year", "2025")
    assert message in capsys.readouterr().out
    assert not BuildingRoomFactor.objects.exists()
    assert not EmbodiedEnergyFactor.objects.exists()
    assert not EnergyCombustionFactor.objects.exists()


def test_database_holds_the_rules(year):
    module_report = buildings_module()
    bad = [
        lambda: BuildingRoomEntry.objects.create(module_report=module_report, building_name="BC", room_name="X",
                                                 room_allocation_ratio=Decimal("1.5")),
        lambda: BuildingRoomEntry.objects.create(module_report=module_report, building_name="BC", room_name="X",
                                                 room_type="kitchen"),
        lambda: BuildingRoomEntry.objects.create(module_report=module_report, building_name="BC", room_name=""),
        lambda: EnergyCombustion.objects.create(module_report=module_report, name="natural_gas", quantity=-1),
        lambda: BuildingRoomFactor.objects.create(year=2025, building_name="BC", energy_type="gas",
                                                  **dict.fromkeys(("heating_kwh_per_square_meter",
                                                                   "cooling_kwh_per_square_meter",
                                                                   "ventilation_kwh_per_square_meter",
                                                                   "lighting_kwh_per_square_meter",
                                                                   "ef_kg_co2eq_per_kwh"), 1)),
        lambda: EmbodiedEnergyFactor.objects.create(year=2025, building_name="default", category="x",
                                                    ef_kgco2eq_per_m2=1),
    ]
    for create in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            create()


# -------------------------------------------------------------------------------- energy combustion
def test_natural_gas_240(tmp_path, year, tree):
    import_csv(tmp_path, "factors:energy_combustion", COMBUSTION_FACTORS, "--year", "2025")
    import_csv(tmp_path, "energy_combustion",
               "unit_institutional_id,name,unit,quantity,note\n13032,Natural gas,kWh,1000,boiler\n", "--year", "2025")
    entry = EnergyCombustion.objects.get()
    assert (entry.kg_co2eq, entry.note) == (Decimal("240"), "boiler")
    row = Emission.objects.get()
    assert (row.emission_type, row.scope, row.kind, row.unit_id) == (60201, 1, EntryKind.energy_combustion,
                                                                     tree["it4r"].pk)
    assert row.factor_values == {"ef_kg_co2eq_per_unit": "0.24000000", "unit": "kWh"}
    assert buildings_module().stats["scope1"] == "240.000000"
    import_csv(tmp_path, "factors:energy_combustion", "name,unit,ef_kg_co2eq_per_unit\nNATURAL-GAS,kWh,0.48\n",
               "--year", "2025")
    assert EnergyCombustion.objects.get().kg_co2eq == Decimal("480")
    assert EnergyCombustionFactor.objects.get(name="natural_gas").ef_kg_co2eq_per_unit == Decimal("0.48")


def test_combustion_without_factor_or_with_another_unit_has_no_emission(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:energy_combustion", COMBUSTION_FACTORS, "--year", "2025")
    import_csv(tmp_path, "energy_combustion",
               "unit_institutional_id,name,unit,quantity\n13032,coal,kg,10\n13032,coal,kg,20\n"
               "13032,natural_gas,m3,100\n13032,natural_gas,,100\n", "--year", "2025")
    out = capsys.readouterr().out
    assert out.count("no energy_combustion factor for 'coal' in 2025") == 1
    assert "row 3, column unit: unit 'm3' differs from the factor's unit 'kWh'" in out
    assert EnergyCombustion.objects.count() == 4
    assert kg() == Decimal("24")  # only the row without a unit (= the factor's)


def test_combustion_override_is_one_row_verbatim_and_propane_is_other(tmp_path, year):
    import_csv(tmp_path, "factors:energy_combustion", COMBUSTION_FACTORS, "--year", "2025")
    import_csv(tmp_path, "energy_combustion",
               "unit_institutional_id,name,unit,quantity,kg_co2eq\n13032,heating_oil,kWh,10,12.5\n"
               "13032,Propane,kWh,100,\n", "--year", "2025")
    override = Emission.objects.get(is_override=True)
    assert (override.kg_co2eq, override.factor_id, override.emission_type) == (Decimal("12.5"), None, 60202)
    propane = Emission.objects.get(is_override=False)
    assert (propane.kg_co2eq, propane.emission_type) == (Decimal("25"), 60299)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unit_institutional_id,name,quantity\n13032,natural_gas,-1\n", "row 1, column quantity: must be ≥ 0 (got -1)"),
        # a template row (a fuel, no quantity) is skipped; a per-year file of nothing but that is refused
        ("unit_institutional_id,name,quantity\n13032,natural_gas,\n",
         "row 1: row skipped: a template row: no quantity"),
        ("unit_institutional_id,name,quantity\n13032,,5\n", "row 1, column name: a value is required"),
        ("unit_institutional_id,name,quantity\n13032,natural_gas,1,5\n",
         "row 1: too many cells: the header has 3 columns but this row has 4"),
        ("unit_institutional_id;name;quantity\n13032;natural_gas;1,5\n", "use '.' as the decimal point"),
    ],
    ids=["negative", "empty-quantity", "empty-name", "too-many-cells", "comma-decimal"],
)
def test_bad_combustion_input_writes_nothing(tmp_path, year, capsys, text, message):
    import_csv(tmp_path, "factors:energy_combustion", COMBUSTION_FACTORS, "--year", "2025")
    import_csv(tmp_path, "energy_combustion", "unit_institutional_id,name,quantity\n13032,natural_gas,1000\n",
               "--year", "2025")
    with pytest.raises(CommandError):
        import_csv(tmp_path, "energy_combustion", text, "--year", "2025")
    assert message in capsys.readouterr().out
    assert list(EnergyCombustion.objects.values_list("quantity", "kg_co2eq")) == [(1000, Decimal("240"))]
    assert Emission.objects.count() == 1


# ------------------------------------------------------------------------------------- sample files
def sample(name: str) -> str:
    """A reference sample, its seed unit replaced by a cf of the test tree."""
    return (SAMPLES / name).read_text(encoding="utf-8").replace("SEED-BC-0", "13032")


def test_rooms_smoke_file(tmp_path, year, capsys):
    """Columns: unit_institutional_id, building_location, building_name, room_name, room_type, note and an
    empty kg_co2eq — all in the contract (room_allocation_ratio absent = 1)."""
    import_csv(tmp_path, "building_room", sample("building_rooms_smoke.csv"), "--year", "2025")
    out = capsys.readouterr().out
    assert "unknown room 'BC-150'" in out and "unknown room 'BC-200'" in out
    assert "ignored unknown column" not in out
    assert BuildingRoomEntry.objects.count() == 2 and not Emission.objects.exists()
    room("BC-150", 10)
    room("BC-200", 20, room_type="laboratories")
    import_csv(tmp_path, "factors:building_room", PG_FACTOR.replace("BC,office", "BC,"), "--year", "2025")
    import_csv(tmp_path, "building_room", sample("building_rooms_smoke.csv"), "--year", "2025")
    office, lab = BuildingRoomEntry.objects.order_by("room_name")
    assert (office.kg_co2eq, lab.kg_co2eq, lab.room_type) == (Decimal("65"), Decimal("130"), "laboratories")
    assert Emission.objects.filter(entry_id=lab.pk, emission_type=taxonomy.room_leaf("lighting", "laboratories"))


def test_combustion_smoke_file(tmp_path, year):
    import_csv(tmp_path, "factors:energy_combustion", COMBUSTION_FACTORS, "--year", "2025")
    import_csv(tmp_path, "energy_combustion", sample("building_energycombustions_smoke.csv"), "--year", "2025")
    assert dict(Emission.objects.values_list("emission_type", "kg_co2eq")) == {60201: Decimal("240"),
                                                                              60202: Decimal("150")}
    assert set(EnergyCombustion.objects.values_list("kg_co2eq_override", flat=True)) == {None}


def test_rooms_template_as_unit_file_with_the_reference_rooms(tmp_path, year, capsys):
    call_command("import_csv", "building_rooms", str(REFERENCE_ROOMS))
    import_csv(tmp_path, "factors:building_room", ROOM_FACTOR_HEADER + "BC,,10,10,10,10,0.1,thermal,\n",
               "--year", "2025")
    capsys.readouterr()
    call_command("import_csv", "building_room", str(SAMPLES / "building_rooms_template.csv"), "--year", "2025",
                 "--unit", "13032")
    out = capsys.readouterr().out
    assert out.count("unknown room") == 5  # only 'BC 125' (84.5 m², libraries) is in the reference rooms
    assert BuildingRoomEntry.objects.count() == 6
    entry = BuildingRoomEntry.objects.get(room_name="BC 125")
    assert entry.source == 2  # unit file
    assert components(entry) == {"lighting": Decimal("84.5"), "cooling": Decimal("84.5"),
                                 "ventilation": Decimal("84.5"), "heating_elec": Decimal("0"),
                                 "heating_thermal": Decimal("84.5")}
    call_command("import_csv", "building_room", str(SAMPLES / "building_rooms_template.csv"), "--year", "2025",
                 "--unit", "13032")
    assert BuildingRoomEntry.objects.count() == 12  # unit files append


def test_combustion_template_as_unit_file(tmp_path, year, capsys):
    import_csv(tmp_path, "factors:energy_combustion",
               COMBUSTION_FACTORS + "biomethane,kWh,0.1\npellets,kg,0.05\nforest_chips,kg,0.04\nwood_logs,kg,0.03\n",
               "--year", "2025")
    call_command("import_csv", "energy_combustion", str(SAMPLES / "building_energycombustions_template.csv"),
                 "--year", "2025", "--unit", "13032")
    assert "warning" not in capsys.readouterr().out
    assert dict(Emission.objects.values_list("emission_type", "kg_co2eq")) == {
        60201: Decimal("288"), 60202: Decimal("240"), 60203: Decimal("50"), 60299: Decimal("3750"),
        60204: Decimal("150"), 60205: Decimal("160"), 60206: Decimal("60")}
    assert buildings_module().stats["entry_count"] == 7
