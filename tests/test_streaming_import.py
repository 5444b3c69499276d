"""Files are read in chunks: a real run validates and writes each chunk in one reading (rolled back if any row
is bad); a dry run or a "skip invalid rows" run of a large file validates in a first streaming pass and writes
in a second. Same results, bounded memory.

The threshold and chunk size are lowered here so that small files take these paths in chunks of 3.
"""

from decimal import Decimal

import pytest
from django.core.management import CommandError

from carbon.models import Emission
from factors.models import Location, TransportMode
from infra.importing import ImportRequest, get_importer
from modules.headcount.models import Member
from modules.process.models import ProcessEmission
from modules.travel.models import PlaneTrip
from tests.campaign import import_csv, kg


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr("modules.importing.STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr("modules.importing.CHUNK", 3)


@pytest.fixture
def year_with_process_factors(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1.5\n", "--year", "2025")


def process_rows(n: int) -> str:
    return "unit_institutional_id,category,quantity\n" + "".join(f"13032,CO2,{i + 1}\n" for i in range(n))


def test_two_pass_import_gives_the_same_numbers(tmp_path, year_with_process_factors):
    import_csv(tmp_path, "process_emission", process_rows(10), "--year", "2025")
    assert ProcessEmission.objects.count() == 10 and Emission.objects.count() == 10
    assert kg() == Decimal("82.5")  # (1 + … + 10) × 1.5
    import_csv(tmp_path, "process_emission", process_rows(10), "--year", "2025")
    assert ProcessEmission.objects.count() == 10 and kg() == Decimal("82.5")


def test_an_error_in_a_late_chunk_writes_nothing(tmp_path, year_with_process_factors, capsys):
    text = process_rows(7) + "13032,CO2,-1\n"
    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", text, "--year", "2025")
    assert "row 8, column quantity: must be ≥ 0 (got -1)" in capsys.readouterr().out
    assert not ProcessEmission.objects.exists()


def test_skip_invalid_across_chunks_and_dry_run(tmp_path, year_with_process_factors, capsys):
    text = "unit_institutional_id,category,quantity\n" + "".join(
        f"13032,CO2,{'x' if i in (2, 6) else i}\n" for i in range(1, 9))
    import_csv(tmp_path, "process_emission", text, "--year", "2025", "--dry-run", "--skip-invalid")
    assert "would create 6" in capsys.readouterr().out
    import_csv(tmp_path, "process_emission", text, "--year", "2025", "--skip-invalid")
    assert "skipped 2 invalid rows (2, 6)" in capsys.readouterr().out
    assert sorted(ProcessEmission.objects.values_list("quantity", flat=True)) == [1, 3, 4, 5, 7, 8]


def test_duplicate_sciper_in_another_chunk_is_found(tmp_path, year_with_process_factors, capsys):
    rows = [f"13032,P{i},53,{300000 + i},0.5" for i in range(6)] + ["13032,Again,53,300001,0.5"]
    with pytest.raises(CommandError):
        import_csv(tmp_path, "member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n"
                   + "\n".join(rows) + "\n", "--year", "2025")
    assert "row 7, column user_institutional_id: duplicate user_institutional_id 300001 (also on row 2)" in \
        capsys.readouterr().out
    assert not Member.objects.exists()


def test_places_are_resolved_in_the_writing_pass(tmp_path, year_with_process_factors):
    for code, point in {"GVA": (46.2381, 6.1090), "ZRH": (47.4647, 8.5492)}.items():
        Location.objects.create(transport_mode=TransportMode.PLANE, name=code, iata_code=code, country_code="CH",
                                latitude=point[0], longitude=point[1], natural_key=f"plane:{code}")
    text = "unit_institutional_id,origin_iata,destination_iata,user_institutional_id,cabin_class\n" + "".join(
        f"13032,{'GVA' if i % 2 else 'ZRH'},{'XXX' if i == 4 else 'GVA'},10000{i},economy\n" for i in range(7))
    import_csv(tmp_path, "plane", text, "--year", "2025")
    trips = list(PlaneTrip.objects.order_by("pk"))
    assert len(trips) == 7
    assert [t.destination_id is None for t in trips] == [False, False, False, False, True, False, False]
    assert all(t.origin_id for t in trips)


def test_a_seekable_file_object_is_read_twice(tmp_path, year_with_process_factors):
    path = tmp_path / "p.csv"
    path.write_text(process_rows(5))
    with path.open("rb") as handle:
        outcome = get_importer("process_emission").run(ImportRequest(source=handle, year=2025))
    assert (outcome.errors, outcome.created) == ([], 5)
    assert kg() == Decimal("22.5")
