"""Reference data: distances and train country (reference-domain §4.2, §8 items 8–9), and the
`locations`, `building_rooms` and `exchange_rates` imports and `load_locations`."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from factors.geo import haversine_km, plane_trip_km, train_country, train_trip_km
from factors.models import BuildingRoom, ExchangeRate, Location
from tests.factories import user_with_roles

REFERENCE = Path(settings.BASE_DIR) / "fixtures" / "reference"

ZRH, GVA, GVA_TRAVEL, CDG = (47.4647, 8.5492), (46.2380, 6.1090), (46.2381, 6.1090), (49.0097, 2.5479)
ZURICH_HB, GENEVE, GENEVA, LAUSANNE = (47.3782, 8.5402), (46.2104, 6.1427), (46.2104, 6.1428), (46.5167, 6.6322)


# ------------------------------------------------------------------------------------------- distances
def test_plane_zrh_gva_is_325_km_within_ten_percent_of_the_reference_322():
    assert round(haversine_km(*ZRH, *GVA)) == 230
    assert plane_trip_km(ZRH, GVA) == 325
    assert abs(plane_trip_km(ZRH, GVA) - 322) <= 32.2


def test_plane_same_airport_is_the_95_km_allowance():
    assert plane_trip_km(GVA, GVA) == 95


def test_plane_gva_cdg_is_408_plus_95():
    assert plane_trip_km(GVA_TRAVEL, CDG) == 503


@pytest.mark.parametrize(("a", "b", "km"), [(ZURICH_HB, GENEVE, 269), (GENEVA, LAUSANNE, 61)],
                         ids=["zurich-geneve", "geneva-lausanne"])
def test_train_distance_is_rounded_great_circle_times_1_2_rounded(a, b, km):
    assert train_trip_km(a, b) == km
    assert train_trip_km(b, a) == km


def test_distance_functions_accept_locations():
    zurich = Location(latitude=ZURICH_HB[0], longitude=ZURICH_HB[1])
    geneve = Location(latitude=GENEVE[0], longitude=GENEVE[1])
    assert train_trip_km(zurich, geneve) == 269


@pytest.mark.parametrize("point", [(90.1, 0), (-91, 0), (0, 180.5), (0, -181)])
def test_haversine_rejects_out_of_range_coordinates(point):
    with pytest.raises(ValueError, match="outside"):
        haversine_km(*point, 0, 0)


@pytest.mark.parametrize(
    ("origin", "destination", "country"),
    [("CH", "CH", "CH"), ("CH", "DE", "DE"), ("FR", "CH", "FR"), ("FR", "DE", "DE"), (None, None, "RoW"),
     ("", "", "RoW"), ("ch", "de", "DE"), ("CH", None, "RoW"), (None, "CH", "RoW"), (None, "IT", "IT")],
    ids=["ch-ch", "basel-freiburg", "lyon-geneva", "paris-berlin", "unknown-both", "empty-both", "lower-case",
         "ch-unknown", "unknown-ch", "unknown-it"],
)
def test_train_country(origin, destination, country):
    assert train_country(origin, destination) == country


# ------------------------------------------------------------------------------------------- helpers
LOC_HEADER = "transport_mode,name,iata_code,country_code,latitude,longitude,municipality\n"
PLANES = "plane,Geneva Airport,GVA,CH,46.2381,6.1090,Geneva\nplane,Zurich Airport,zrh,ch,47.4647,8.5492,Zurich\n"
TRAINS = "train,Basel SBB,,CH,47.5476,7.5896,Basel\ntrain,Basel Bad Bf,,DE,47.5675,7.6075,Basel\n"


def run_import(tmp_path, kind, text, *args):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_csv", kind, str(path), *args)


def snapshot(model):
    return sorted(model.objects.values_list(), key=lambda row: row[0]), model.history.count()


def assert_rejected(tmp_path, capsys, kind, text, model, expected_line):
    """The import fails, names the row, column and reason, and leaves the table and its history as they were."""
    before = snapshot(model)
    capsys.readouterr()
    with pytest.raises(CommandError, match="nothing was written"):
        run_import(tmp_path, kind, text)
    assert expected_line in capsys.readouterr().out.splitlines()
    assert snapshot(model) == before


# ------------------------------------------------------------------------------------------- locations
def test_locations_import_normalises_and_keys(db, tmp_path):
    run_import(tmp_path, "locations", LOC_HEADER + PLANES + TRAINS)
    assert Location.objects.count() == 4
    zurich = Location.objects.get(natural_key="plane:ZRH")
    assert (zurich.iata_code, zurich.country_code, zurich.transport_mode) == ("ZRH", "CH", "plane")
    basel_de = Location.objects.get(name="Basel Bad Bf")
    assert basel_de.natural_key == "train:de:basel bad bf:47.5675:7.6075"
    assert Location.objects.get(name="Basel SBB").country_code == "CH"
    history = Location.history.filter(natural_key="plane:GVA").get()
    assert history.history_type == "+"
    # No --actor and no operator account: the reason names the operating-system user.
    assert history.history_change_reason == f"locations CSV import; command line: import_csv ({operator()})"


def test_second_file_of_trains_leaves_planes_untouched(db, tmp_path):
    run_import(tmp_path, "locations", LOC_HEADER + PLANES + TRAINS)
    planes = {loc.pk: loc.natural_key for loc in Location.objects.filter(transport_mode="plane")}
    basel_sbb = Location.objects.get(name="Basel SBB").pk
    run_import(tmp_path, "locations",
               LOC_HEADER + "train,BASEL  sbb,,CH,47.5476,7.5896,Basel\ntrain,Lausanne,,CH,46.5167,6.6322,\n")
    assert {loc.pk: loc.natural_key for loc in Location.objects.filter(transport_mode="plane")} == planes
    assert sorted(Location.objects.filter(transport_mode="train").values_list("name", flat=True)) == [
        "BASEL  sbb", "Lausanne"]
    # Same natural key (case and spacing folded): updated in place, id kept; missing station deleted.
    assert Location.objects.get(name="BASEL  sbb").pk == basel_sbb
    deleted = Location.history.get(name="Basel Bad Bf", history_type="-")
    assert deleted.history_change_reason == f"locations CSV import; command line: import_csv ({operator()})"


LOCATION_ERRORS = [
    ("transport_mode,name,country_code,longitude\nplane,X,CH,6\n",
     "error: column latitude: missing required column 'latitude'"),
    (LOC_HEADER + "plane,Geneva,GVA,CH,north,6.1090,\n", "error: row 1, column latitude: 'north' is not a number"),
    (LOC_HEADER + "plane,Geneva,GVA,CH,46.2,6.1,\ntrain,Pole,,NO,90.5,0,\n",
     "error: row 2, column latitude: must be between -90 and 90 (got 90.5)"),
    (LOC_HEADER + "plane,Geneva,GVA,CH,46.2,181,\n",
     "error: row 1, column longitude: must be between -180 and 180 (got 181)"),
    (LOC_HEADER + "plane,Geneva,GVA,CH,46.2,6.1,\nplane,Geneva bis,gva,CH,46.3,6.2,\n",
     "error: row 2, column iata_code: duplicate location plane:GVA (also on row 1)"),
    (LOC_HEADER + "train,Bern,,CH,46.949,7.4391,\ntrain,bern,,ch,46.9490,7.4391,\n",
     "error: row 2, column name: duplicate location train:ch:bern:46.949:7.4391 (also on row 1)"),
    (LOC_HEADER + "plane,Geneva,GVA,CHE,46.2,6.1,\n",
     "error: row 1, column country_code: 'CHE' is not a two-letter ISO country code"),
    (LOC_HEADER + "plane,Geneva,GV,CH,46.2,6.1,\n",
     "error: row 1, column iata_code: 'GV' is not a three-letter IATA code"),
    (LOC_HEADER + "bus,Geneva,,CH,46.2,6.1,\n",
     "error: row 1, column transport_mode: 'bus' is not one of: plane, train"),
    (LOC_HEADER + "train,,,CH,46.2,6.1,\n", "error: row 1, column name: a value is required"),
]


@pytest.mark.parametrize(("text", "line"), LOCATION_ERRORS,
                         ids=["missing-column", "text-latitude", "latitude-range", "longitude-range", "duplicate-iata",
                              "duplicate-station", "country-3-letters", "iata-2-letters", "unknown-mode", "empty-name"])
def test_bad_location_files_write_nothing(db, tmp_path, capsys, text, line):
    run_import(tmp_path, "locations", LOC_HEADER + PLANES + TRAINS)
    assert_rejected(tmp_path, capsys, "locations", text, Location, line)


def test_dry_run_and_skip_invalid(db, tmp_path, capsys):
    run_import(tmp_path, "locations", LOC_HEADER + PLANES, "--dry-run")
    assert not Location.objects.exists()
    run_import(tmp_path, "locations", LOC_HEADER + PLANES + "plane,Nowhere,NWH,CH,95,0,\n", "--skip-invalid")
    assert sorted(Location.objects.values_list("iata_code", flat=True)) == ["GVA", "ZRH"]
    assert "skipped 1 invalid rows (3)" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- load_locations
def test_load_locations_loads_airports_and_the_curated_stations(db):
    call_command("load_locations")
    planes = Location.objects.filter(transport_mode="plane")
    assert planes.count() > 5000
    gva = planes.get(iata_code="GVA")
    assert (gva.country_code, round(gva.latitude, 2), round(gva.longitude, 2)) == ("CH", 46.24, 6.11)
    stations = (REFERENCE / "stations.csv").read_text(encoding="utf-8").splitlines()
    data_rows = [line for line in stations if line.startswith("train,")]
    assert Location.objects.filter(transport_mode="train").count() == len(data_rows)
    assert Location.objects.get(name="Basel SBB").country_code == "CH"
    assert Location.objects.get(name="Basel Bad Bf").country_code == "DE"
    zurich, geneve = Location.objects.get(name="Zürich HB"), Location.objects.get(name="Genève")
    assert train_trip_km(zurich, geneve) == 269
    assert train_country(Location.objects.get(name="Basel SBB").country_code,
                         Location.objects.get(name="Freiburg (Breisgau) Hbf").country_code) == "DE"
    history = Location.history.count()
    call_command("load_locations")  # a re-run with the same data changes nothing
    assert Location.history.count() == history


def test_load_locations_airports_only_keeps_stations(db, tmp_path):
    run_import(tmp_path, "locations", LOC_HEADER + TRAINS)
    call_command("load_locations", "--airports-only")
    assert Location.objects.filter(transport_mode="train").count() == 2
    assert Location.objects.filter(transport_mode="plane", iata_code="CDG").exists()


# ------------------------------------------------------------------------------------------- building rooms
ROOM_HEADER = "building_location,building_name,room_name,room_type,room_surface_square_meter\n"
ROOMS = "ECUBLENS,BC,BC 125,libraries,84.5\nECUBLENS,BC,BC 07,,-\nECUBLENS,CE,CE 1 1,auditoriums,\n"


def test_building_rooms_import_and_replace(db, tmp_path):
    run_import(tmp_path, "building_rooms", ROOM_HEADER + ROOMS)
    assert BuildingRoom.objects.get(room_name="BC 125").room_surface_square_meter == 84.5
    bc07 = BuildingRoom.objects.get(room_name="BC 07")
    assert (bc07.room_type, bc07.room_surface_square_meter) == (None, None)
    assert BuildingRoom.objects.get(room_name="CE 1 1").room_surface_square_meter is None
    run_import(tmp_path, "building_rooms", ROOM_HEADER + "ECUBLENS,BC,BC 125,office,90\n")
    room = BuildingRoom.objects.get()
    assert (room.room_name, room.room_type, room.room_surface_square_meter) == ("BC 125", "office", 90.0)
    assert list(BuildingRoom.history.filter(room_name="BC 125").values_list("history_type", flat=True)) == ["~", "+"]
    assert BuildingRoom.history.filter(history_type="-").count() == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [("building_location,room_name\nECUBLENS,BC 1\n", "error: column building_name: missing required column "
                                                      "'building_name'"),
     (ROOM_HEADER + "ECUBLENS,BC,BC 1,office,-3\n",
      "error: row 1, column room_surface_square_meter: must be ≥ 0 (got -3)"),
     (ROOM_HEADER + "ECUBLENS,BC,BC 1,office,big\n",
      "error: row 1, column room_surface_square_meter: 'big' is not a number"),
     (ROOM_HEADER + "ECUBLENS,BC,BC 1,office,1\nECUBLENS,BC,BC 1,lab,2\n",
      "error: row 2, column room_name: duplicate room 'BC 1' (also on row 1)")],
    ids=["missing-column", "negative-surface", "text-surface", "duplicate-room"],
)
def test_bad_room_files_write_nothing(db, tmp_path, capsys, text, line):
    run_import(tmp_path, "building_rooms", ROOM_HEADER + ROOMS)
    assert_rejected(tmp_path, capsys, "building_rooms", text, BuildingRoom, line)


# ------------------------------------------------------------------------------------------- exchange rates
RATE_HEADER = "year,currency,units_per_eur\n"


def test_exchange_rates_upsert_on_year_and_currency(db, tmp_path):
    run_import(tmp_path, "exchange_rates", RATE_HEADER + "2024,chf,0.9526\n2024,USD,1.0824\n2024,EUR,1\n")
    run_import(tmp_path, "exchange_rates", RATE_HEADER + "2024,CHF,0.95\n2025,CHF,0.937\n")
    rates = {(r.year, r.currency): r.units_per_eur for r in ExchangeRate.objects.all()}
    assert rates == {(2024, "CHF"): Decimal("0.95"), (2024, "USD"): Decimal("1.0824"), (2024, "EUR"): 1,
                     (2025, "CHF"): Decimal("0.937")}
    chf = ExchangeRate.objects.get(year=2024, currency="CHF")
    assert [(h.history_type, h.units_per_eur) for h in chf.history.all()] == [
        ("~", Decimal("0.95")), ("+", Decimal("0.9526"))]


@pytest.mark.parametrize(
    ("text", "line"),
    [("year,currency\n2024,CHF\n", "error: column units_per_eur: missing required column 'units_per_eur'"),
     (RATE_HEADER + "2024,CHF,0\n", "error: row 1, column units_per_eur: must be > 0 (got 0)"),
     (RATE_HEADER + "2024,CHF,-1.2\n", "error: row 1, column units_per_eur: must be > 0 (got -1.2)"),
     (RATE_HEADER + "2024,CHF,abc\n", "error: row 1, column units_per_eur: 'abc' is not a number"),
     (RATE_HEADER + "2024,CHF,0,95\n", "error: row 1: too many cells: the header has 3 columns but this row has 4"),
     (RATE_HEADER + "24.5,CHF,0.95\n", "error: row 1, column year: '24.5' is not a whole number"),
     (RATE_HEADER + "2024,SWISS,0.95\n",
      "error: row 1, column currency: 'SWISS' is not a three-letter ISO 4217 currency code"),
     (RATE_HEADER + "2024,EUR,1.1\n", "error: row 1, column units_per_eur: EUR is the base currency: its rate is 1 "
                                      "(got 1.1)"),
     (RATE_HEADER + "2024,CHF,0.95\n2024,chf,0.96\n",
      "error: row 2, column currency: duplicate rate for CHF in 2024 (also on row 1)")],
    ids=["missing-column", "zero", "negative", "text", "comma-decimal", "year-decimal", "currency", "eur-not-1",
         "duplicate"],
)
def test_bad_rate_files_write_nothing(db, tmp_path, capsys, text, line):
    run_import(tmp_path, "exchange_rates", RATE_HEADER + "2024,CHF,0.9526\n")
    assert_rejected(tmp_path, capsys, "exchange_rates", text, ExchangeRate, line)


# ------------------------------------------------------------------------------------------- fixtures, admin
@pytest.mark.parametrize(("kind", "model", "count"), [("building_rooms", BuildingRoom, 31),
                                                      ("exchange_rates", ExchangeRate, 8),
                                                      ("locations", Location, 114)])
def test_reference_fixtures_import_cleanly(db, kind, model, count):
    file = {"locations": "stations.csv"}.get(kind, f"{kind}.csv")
    call_command("import_csv", kind, str(REFERENCE / file))
    assert model.objects.count() == count
    assert model.history.count() == count


@pytest.mark.parametrize(("claim", "can_view", "can_add"),
                         [("calco2.backoffice.metier@affiliation:13030", True, False),
                          ("calco2.backoffice.admin@global", True, True)],
                         ids=["metier", "admin"])
def test_reference_data_is_read_by_back_office_and_written_by_the_admin(client, tree, claim, can_view, can_add):
    client.force_login(user_with_roles(claim))
    for model in ("buildingroom", "exchangerate", "location"):
        assert client.get(reverse(f"admin:factors_{model}_changelist")).status_code == (200 if can_view else 403)
    add = client.get(reverse("admin:factors_exchangerate_add")).status_code
    assert add == (200 if can_add else 403)
    assert client.get(reverse("admin:factors_location_add")).status_code == 403  # locations: CSV only


def test_history_records_the_acting_user_on_create_and_delete(db, tmp_path):
    actor = user_with_roles("calco2.backoffice.admin@global")
    run_import(tmp_path, "building_rooms", ROOM_HEADER + ROOMS, "--actor", actor.institutional_id)
    run_import(tmp_path, "building_rooms", ROOM_HEADER + "ECUBLENS,BC,BC 125,libraries,84.5\n",
               "--actor", actor.institutional_id)
    deleted = BuildingRoom.history.get(room_name="CE 1 1", history_type="-")
    assert (deleted.history_user, deleted.history_change_reason) == (
        actor, "building rooms CSV import; command line: import_csv")
    assert BuildingRoom.history.get(room_name="BC 125").history_user == actor  # unchanged: one '+' row only


def test_bad_stations_file_fails_the_command_and_writes_no_station(db, tmp_path):
    bad = tmp_path / "stations.csv"
    bad.write_text(LOC_HEADER + "train,Nowhere,,CH,91,0,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="wrote nothing"):
        call_command("load_locations", "--stations", str(bad))
    assert not Location.objects.filter(transport_mode="train").exists()


def operator() -> str:
    """How a command names an operator without an account ("operator root")."""
    from units.operators import operator_resolve

    return operator_resolve()[1]
