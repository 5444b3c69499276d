"""Location search (issue 9): the autocomplete API and selector, and station-name matching in train imports.

The places are real rows: the demo's curated stations (fixtures/reference/stations.csv, local names with
other-language keywords) and airports as airportsdata names them (which the demo loads), imported through
the `locations` import kind so `search_text` is filled the way production fills it (bulk_create). Airport
sizes are OurAirports' (airportsdata has none).
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carbon.models import Emission
from carbon.services import year_create
from carbon.taxonomy import EntryKind
from factors.models import Location
from factors.selectors import match_station, match_stations, search_locations
from modules.travel.kind import stations_by_name
from modules.travel.models import TrainTrip
from tests.campaign import import_csv, write_csv
from tests.factories import UnitFactory, user_with_roles
from tests.samples import SAMPLES

STATIONS = settings.BASE_DIR / "fixtures" / "reference" / "stations.csv"
LOC_HEADER = ("transport_mode,name,iata_code,country_code,latitude,longitude,municipality,airport_size,continent,"
              "keywords\n")
AIRPORTS = LOC_HEADER + """\
plane,Geneva Cointrin International Airport,GVA,CH,46.2381,6.10895,Geneva,large_airport,EU,LSGG Geneva
plane,Zurich Airport,ZRH,CH,47.4647,8.54917,Zurich,large_airport,EU,LSZH Zurich
plane,Bern Belp Airport,BRN,CH,46.9141,7.49715,Bern,medium_airport,EU,LSZB Bern
plane,Lausanne-Blécherette Airport,QLS,CH,46.5453,6.61667,Lausanne,small_airport,EU,LSGL Vaud
plane,Charles de Gaulle International Airport,CDG,FR,49.0128,2.55,Paris,large_airport,EU,LFPG Ile-de-France
plane,Berlin Brandenburg Airport,BER,DE,52.3514,13.4939,Berlin,large_airport,EU,EDDB Brandenburg
plane,Munich International Airport,MUC,DE,48.3538,11.7861,Munich,large_airport,EU,EDDM Bayern
plane,Genoa Cristoforo Colombo Airport,GOA,IT,44.4133,8.8375,Genova,medium_airport,EU,LIMJ Liguria
"""
TRAIN_FACTORS = "country_code,ef_kg_co2eq_per_km\nCH,0.05\n"


@pytest.fixture
def places(db, tmp_path):
    call_command("import_csv", "locations", str(STATIONS))
    import_csv(tmp_path, "locations", AIRPORTS)


def names(mode, q, **kwargs):
    return [loc.name for loc in search_locations(mode, q, **kwargs)]


# ------------------------------------------------------------------------------------------- selector
def test_geneva_finds_geneve_first(places):
    assert names("train", "Geneva") == ["Genève", "Genève-Aéroport", "Genève-Eaux-Vives"]
    assert names("plane", "Genève")[0] == "Geneva Cointrin International Airport"  # the other way round


def test_zurich_finds_zurich_hb_first(places):
    found = names("train", "zurich")
    assert found[0] == "Zürich HB"
    assert set(found) == {"Zürich HB", "Zürich Flughafen", "Zürich Oerlikon", "Zürich Stadelhofen",
                          "Zürich Altstetten"}


@pytest.mark.parametrize("q", ["GVA", "gva", " Gva "])
def test_iata_code_finds_its_airport_first(places, q):
    assert search_locations("plane", q)[0].iata_code == "GVA"


def test_exact_iata_code_before_switzerland_then_switzerland_by_size(places):
    # "ber": BER is the exact code; then Bern (CH) before the rest; a prefix of a code matches too.
    assert [loc.iata_code for loc in search_locations("plane", "ber")] == ["BER", "BRN"]
    assert [(loc.country_code, loc.iata_code) for loc in search_locations("plane", "airport")] == [
        ("CH", "GVA"), ("CH", "ZRH"),  # large (then by name)
        ("CH", "BRN"),  # medium
        ("CH", "QLS"),  # small
        ("DE", "BER"), ("FR", "CDG"), ("DE", "MUC"),  # large, by name
        ("IT", "GOA"),  # medium
    ]
    assert [loc.iata_code for loc in search_locations("plane", "ZR")] == ["ZRH"]


@pytest.mark.parametrize("q, first", [
    ("GENÈVE", "Genève"), ("geneve", "Genève"), ("  genève ", "Genève"), ("Genf", "Genève"),
    ("zürich hb", "Zürich HB"), ("ZURICH HB", "Zürich HB"), ("Neuchatel", "Neuchâtel"), ("bale", "Basel SBB"),
    ("Munich", "München Hbf"), ("MUNCHEN", "München Hbf"), ("Vienna", "Wien Hbf"), ("milan", "Milano Centrale"),
    ("Brussels", "Bruxelles-Midi"), ("Lausane", "Lausanne"),  # a typo: trigram similarity
    ("st gallen", "St. Gallen"), ("geneve aeroport", "Genève-Aéroport"), ("lucer", "Luzern"),
])
def test_accents_case_punctuation_other_names_and_typos(places, q, first):
    assert names("train", q)[0] == first


def test_short_or_empty_queries_and_limit(places):
    assert search_locations("train", "g") == [] and search_locations("train", "  ") == []
    assert search_locations("train", "--") == [] and search_locations("train", "\x00\x00") == []
    assert len(search_locations("train", "zu", limit=2)) == 2
    assert names("train", "Oerlikon") == ["Zürich Oerlikon"] and names("plane", "Oerlikon") == []  # one mode


def test_search_text_follows_reimports(places, tmp_path):
    """search_text is a GENERATED column: a re-import (bulk_update) changes what is found, no hook needed."""
    text = STATIONS.read_text(encoding="utf-8").replace("Aarau,,EU,", "Aarau,,EU,Aargau Capital")
    import_csv(tmp_path, "locations", text)
    assert names("train", "aargau capital") == ["Aarau"]


# --------------------------------------------------------------------------------------------- API
def api(client, **params):
    return client.get("/api/v1/locations/", params)


@pytest.fixture
def member(client, places):
    client.force_login(user_with_roles("calco2.user.standard@own:13032"))
    return client


def test_api_answers_signed_in_users(member):
    response = api(member, mode="train", q="Geneva")
    assert response.status_code == 200
    first = response.json()[0]
    genève = Location.objects.get(name="Genève")
    assert first == {"id": genève.pk, "name": "Genève", "iata_code": "", "country_code": "CH",
                     "municipality": "Genève", "mode": "train", "label": "Genève (CH)"}
    gva = api(member, mode="plane", q="gva").json()[0]
    assert (gva["iata_code"], gva["label"]) == ("GVA", "GVA – Geneva Cointrin International Airport (CH)")
    assert api(member, mode="train", q="Genève-Aé").json()[0]["label"] == "Genève-Aéroport, Le Grand-Saconnex (CH)"


def test_api_refuses_the_anonymous(client, places):
    response = api(client, mode="train", q="Geneva")
    assert response.status_code in (401, 403)
    assert "Genève" not in response.content.decode()


@pytest.mark.parametrize("params, code", [
    ({"q": "Geneva"}, "invalid_mode"), ({"mode": "bus", "q": "Geneva"}, "invalid_mode"),
    ({"mode": "train"}, "missing_q"), ({"mode": "train", "q": "ge", "limit": "x"}, "invalid_limit"),
    ({"mode": "train", "q": "ge", "limit": "0"}, "invalid_limit"),
])
def test_api_bad_parameters_are_400_with_a_code(member, params, code):
    response = api(member, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["detail"]


def test_api_short_query_is_an_empty_list_and_limit_is_capped(member):
    assert api(member, mode="train", q="G").json() == []
    assert len(api(member, mode="train", q="zu", limit="1").json()) == 1
    assert len(api(member, mode="train", q="a", limit="1000").json()) == 0
    assert len(api(member, mode="train", q="an", limit="1000").json()) <= 50


def test_api_query_count_does_not_grow_with_the_results(member):
    def count(**params):
        with CaptureQueriesContext(connection) as queries:
            assert api(member, **params).status_code == 200
        return len(queries)

    assert count(mode="train", q="an", limit="50") == count(mode="train", q="Lausanne", limit="1") == count(
        mode="plane", q="airport")


def test_api_is_in_the_schema(member):
    schema = member.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/locations/"]["get"]
    assert {p["name"]: p.get("required", False) for p in operation["parameters"]} == {"mode": True, "q": True,
                                                                          "limit": False}
    assert {"200", "400"} <= set(operation["responses"])


# ----------------------------------------------------------------------------------- station matching
def test_match_station_tiers(places):
    genève = Location.objects.get(name="Genève")
    assert match_station("CH", "Geneva") == [genève]  # curated other name
    assert match_station("CH", " GENEVE ") == [genève]  # the name, ignoring case, accents, spaces
    assert match_station("CH", "Genf") == [genève]
    assert match_station("CH", "Zurich") == [Location.objects.get(name="Zürich HB")]
    assert match_station("CH", "Losanna") == [Location.objects.get(name="Lausanne")]  # a keyword of one station
    assert match_station("CH", "Kloten") == [Location.objects.get(name="Zürich Flughafen")]  # its municipality
    assert match_station("FR", "Paris") == []  # a keyword of three stations names none of them
    assert match_station("DE", "Geneva") == [] and match_station("CH", "Atlantis") == []  # within the country
    assert match_station("DE", "Freiburg") == [Location.objects.get(name="Freiburg (Breisgau) Hbf")]
    assert match_station("CH", "Freiburg") == [Location.objects.get(name="Fribourg/Freiburg")]


def test_a_station_named_like_an_alias_wins_and_duplicates_stay_ambiguous(places):
    geneva = Location.objects.create(transport_mode="train", name="Geneva", country_code="CH", latitude=46.21,
                                     longitude=6.14, natural_key="train:ch:geneva:test")
    assert match_station("CH", "geneva") == [geneva]
    Location.objects.create(transport_mode="train", name="LAUSANNE", country_code="CH", latitude=46.5,
                            longitude=6.6, natural_key="train:ch:lausanne:test")
    assert len(match_station("CH", "Lausanne")) == 2


def test_stations_by_name_keeps_its_keys_in_one_query(places):
    with CaptureQueriesContext(connection) as queries:
        found = stations_by_name([("CH", "Geneva "), ("CH", "Lausanne"), ("CH", "Atlantis"), ("DE", "munich")])
    assert len(queries) == 1
    assert {key: [loc.name for loc in locs] for key, locs in found.items()} == {
        ("CH", "geneva"): ["Genève"], ("CH", "lausanne"): ["Lausanne"], ("DE", "munich"): ["München Hbf"]}
    assert match_stations([]) == {}


# ----------------------------------------------------------------------------------------- imports
@pytest.fixture
def travel_unit(tree):
    UnitFactory(institutional_code="14271", institutional_id="TC-TRAVEL-1", name="TC-TRAVEL", parent=tree["sg"])
    year_create(year=2025)


def test_train_smoke_sample_says_geneva_and_gets_its_emissions(tmp_path, travel_unit, places, capsys):
    """fixtures/upstream/travel_trains_smoke.csv says "Geneva"; the demo's station is "Genève"."""
    import_csv(tmp_path, "factors:train", TRAIN_FACTORS, "--year", "2025")
    path = write_csv(tmp_path, "trains.csv", (SAMPLES / "travel_trains_smoke.csv").read_text(encoding="utf-8"))
    call_command("import_csv", "train", str(path), "--year", "2025")
    assert "unknown station" not in capsys.readouterr().out
    genève, lausanne = Location.objects.get(name="Genève"), Location.objects.get(name="Lausanne")
    trip = TrainTrip.objects.get(user_institutional_id="U-001")
    assert (trip.origin_name, trip.origin, trip.destination, trip.distance_km) == ("Geneva", genève, lausanne, 61)
    assert sorted(Emission.objects.filter(kind=EntryKind.train).values_list("kg_co2eq", flat=True)) == [
        Decimal("3.050000"), Decimal("9.150000")]  # 61 km × 0.05, and × 3 trips


def test_train_import_with_english_names_abroad(tmp_path, travel_unit, places):
    import_csv(tmp_path, "train", "unit_institutional_id,origin_name,origin_country_code,destination_name,"
                                  "destination_country_code,user_institutional_id,cabin_class\n"
                                  "TC-TRAVEL-1,Zurich,CH,Munich,DE,U-003,second\n"
                                  "TC-TRAVEL-1,Basle,CH,Cologne,de,U-004,second\n", "--year", "2025")
    ends = {t.user_institutional_id: (t.origin.name, t.destination.name) for t in TrainTrip.objects.all()}
    assert ends == {"U-003": ("Zürich HB", "München Hbf"), "U-004": ("Basel SBB", "Köln Hbf")}


def test_the_database_and_python_fold_names_alike(db):
    """`location_fold` (SQL) and `factors.folding.fold` (Python) apply one table: every accented letter, the
    ligatures, punctuation — the alias lookups in Python and the comparisons in SQL must agree."""
    from django.db import connection

    from factors.folding import ACCENTED, fold

    samples = [ACCENTED, "Genève-Aéroport", "Zürich HB", "  Straße / Œuvre:Æther ", "São Paulo–Guarulhos", "x_y"]
    with connection.cursor() as cursor:
        for text in samples:
            cursor.execute("SELECT location_fold(%s)", [text])
            assert cursor.fetchone()[0] == fold(text), text
    assert fold("Genève-Aéroport") == "geneve aeroport"
