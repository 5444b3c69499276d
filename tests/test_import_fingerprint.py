"""Import fingerprints (issue 13, `modules.fingerprints`): a per-year file imported again, unchanged, while nothing
it reads changed, is answered from its fingerprint — the same outcome as the diff, without reading the file and
without writing any row of any table; any change of what the import reads sends it the normal way.

"Normal way or not" is seen through the CSV reader (the shortcut never opens the file); "nothing written" through
PostgreSQL's per-transaction write counters over every table, as in `test_reimport_diff.py`.
"""

import io

import pytest
from django.db import connection

from carbon.services import year_create
from infra.importing import ImportRequest, get_importer
from modules import importing
from modules.fingerprints import ImportFingerprint
from modules.registry import KINDS
from modules.services import entry_delete, entry_update
from modules.travel.models import PlaneTrip
from tests.campaign import import_csv, write_csv
from tests.factories import UnitFactory
from tests.test_travel import CDG, GVA, JFK, PLANE_FACTORS, airport

MEMBERS = ("unit_institutional_id,name,sius_code,user_institutional_id,fte,note\n"
           "13032,Alice,51,100001,1.0,\n")
MEMBER_FACTORS = ("headcount_category,headcount_class,headcount_subclass,unit,number_of_unit_per_fte,"
                  "ef_kg_co2eq_per_unit\nfood,vegetarian,,kg,100,1.0\n")
# Four trips and warnings of three sorts: a traveller missing from the headcount (row 2), an unknown airport
# (row 3), a unit with no headcount at all (the whole file).
PLANES = ("unit_institutional_id,origin_iata,destination_iata,user_institutional_id,number_of_trips,cabin_class\n"
          "13032,GVA,CDG,100001,1,economy\n13032,CDG,JFK,100002,2,economy\n13032,GVA,LIS,100001,1,business\n"
          "14011,CDG,JFK,200001,1,first\n")
EQUIPMENT = "unit_institutional_id,equipment_id,name,equipment_class\n13032,B1,Centrifuge,Nothing like it\n"


def rows_written() -> int:
    """Rows inserted, updated or deleted so far by this transaction, in any table (PostgreSQL's counters)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return cursor.fetchone()[0]


def run(tmp_path, text: str, kind: str = "plane", **options):
    path = write_csv(tmp_path, f"{kind}.csv", text)
    return get_importer(kind).run(ImportRequest(source=str(path), year=options.pop("year", 2025), **options))


def seen(outcome) -> tuple:
    return (outcome.rows_read, outcome.created, outcome.updated, outcome.deleted, outcome.unchanged,
            [w.as_dict() for w in outcome.warnings], outcome.summary())


@pytest.fixture
def reads(monkeypatch):
    """How many times an import opened its file (the normal path does, the shortcut never does)."""
    calls = []
    real = importing.read_csv

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "read_csv", counted)
    return calls


@pytest.fixture
def plane_year(year, tmp_path):
    for code, point, country in (("GVA", GVA, "CH"), ("CDG", CDG, "FR"), ("JFK", JFK, "US")):
        airport(code, point, country)
    import_csv(tmp_path, "factors:plane", PLANE_FACTORS, "--year", "2025")
    import_csv(tmp_path, "factors:member", MEMBER_FACTORS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    first = run(tmp_path, PLANES)
    assert (first.created, len(first.warnings), first.errors) == (4, 3, [])
    return first


def test_the_same_file_again_is_answered_from_its_fingerprint(tmp_path, plane_year, reads):
    ids = sorted(PlaneTrip.objects.values_list("pk", flat=True))
    before = rows_written()
    again = run(tmp_path, PLANES)
    assert rows_written() == before and reads == []  # nothing written, the file not even read
    assert (again.rows_read, again.created, again.updated, again.deleted, again.unchanged) == (4, 0, 0, 0, 4)
    assert again.warnings == plane_year.warnings  # replayed: row, column and reason
    assert again.summary() == "plane: 4 rows read, added 0, changed 0, removed 0, unchanged 4; 3 warnings"
    assert sorted(PlaneTrip.objects.values_list("pk", flat=True)) == ids
    # The normal way says exactly the same (without the fingerprint: it records none, having written nothing).
    preview = run(tmp_path, PLANES, dry_run=True)
    ImportFingerprint.objects.filter(kind="plane").delete()
    assert seen(run(tmp_path, PLANES)) == seen(again) and reads == [1]
    assert seen(run(tmp_path, PLANES, dry_run=True)) == seen(preview) and preview.summary().startswith(
        "plane: 4 rows read, would add 0, changed 0, removed 0, unchanged 4")


def test_what_is_recorded(plane_year):
    fingerprint = ImportFingerprint.objects.get(kind="plane")
    assert (fingerprint.kind, fingerprint.year, fingerprint.category) == ("plane", 2025, "")
    assert (fingerprint.rows_read, fingerprint.rows_stored, len(fingerprint.warnings)) == (4, 4, 3)
    histories = {model.history.model._meta.db_table for model in
                 (PlaneTrip, KINDS["member"].model, KINDS["plane"].model)}
    assert histories | {"units_historicalunit", "factors_historicallocation", "factors_historicalplanefactor",
                        "factors_historicalexchangerate"} <= set(fingerprint.marks)
    assert fingerprint.marks[PlaneTrip.history.model._meta.db_table] == PlaneTrip.history.order_by(
        "history_id").last().history_id


def test_a_file_object_is_hashed_and_put_back(tmp_path, plane_year, reads):
    handle = io.BytesIO(PLANES.encode())
    assert get_importer("plane").run(ImportRequest(source=handle, year=2025)).unchanged == 4
    assert handle.tell() == 0 and reads == []


def _edit(tmp_path, tree):
    trip = PlaneTrip.objects.get(origin_iata="GVA", destination_iata="CDG")
    entry_update(KINDS["plane"], trip, cells={"number_of_trips": "3"}, actor=None)  # what the lab's API calls


def _delete(tmp_path, tree):
    entry_delete(KINDS["plane"], PlaneTrip.objects.get(destination_iata="LIS"), actor=None)


def _unit(tmp_path, tree):
    UnitFactory(institutional_code="13012", institutional_id="14012", name="STI-LAB-2", parent=tree["sti_inst"])


def _location(tmp_path, tree):
    airport("LIS", (38.7742, -9.1342), "PT")


def _factor(tmp_path, tree):
    import_csv(tmp_path, "factors:plane", PLANE_FACTORS.replace("0.2906,1.35,0,2500", "0.3,1.35,0,2500", 1),
               "--year", "2025")


def _member(tmp_path, tree):  # the travellers' headcount, which the plane file's warnings read
    import_csv(tmp_path, "member", MEMBERS + "13032,Bob,51,100002,1.0,\n", "--year", "2025")


@pytest.mark.parametrize(("change", "expected"), [
    (_edit, (0, 1, 0, 3)),  # the file's row puts the trip back
    (_delete, (1, 0, 0, 3)),
    (_unit, (0, 0, 0, 4)),
    (_location, (0, 1, 0, 3)),  # LIS is known now: the trip gets its place (and emissions)
    (_factor, (0, 0, 0, 4)),
    (_member, (0, 0, 0, 4)),
], ids=lambda value: getattr(value, "__name__", "")[1:])
def test_any_change_of_what_the_import_reads_takes_the_normal_path(tmp_path, tree, plane_year, reads, change,
                                                                   expected):
    change(tmp_path, tree)
    reads.clear()  # the change may be an import itself
    outcome = run(tmp_path, PLANES)
    assert reads == [1]
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == expected
    if change is _member:
        assert len(outcome.warnings) == 2  # Bob is in the headcount now: one warning fewer than recorded


def test_a_different_file_or_year_takes_the_normal_path(tmp_path, plane_year, reads):
    assert run(tmp_path, PLANES + "\n").unchanged == 4  # one byte more, the same rows
    year_create(year=2024)
    assert run(tmp_path, PLANES, year=2024).created == 4
    assert reads == [1, 1]


def test_another_category_takes_the_normal_path(tmp_path, year, reads):
    assert run(tmp_path, EQUIPMENT, "equipment", category="scientific").created == 1
    assert run(tmp_path, EQUIPMENT, "equipment", category="scientific").unchanged == 1
    assert reads == [1]
    # The file uploaded as another category is that category's rows (the scientific row stays).
    assert run(tmp_path, EQUIPMENT, "equipment", category="it").created == 1
    assert reads == [1, 1]
    # Each category has its own fingerprint; the first one's marks moved with the rows the second import wrote.
    assert run(tmp_path, EQUIPMENT, "equipment", category="scientific").unchanged == 1
    assert reads == [1, 1, 1]
    # That run wrote nothing, so it recorded nothing (an unchanged file writes no row of any table): read again.
    assert run(tmp_path, EQUIPMENT, "equipment", category="scientific").unchanged == 1
    assert reads == [1, 1, 1, 1]


def test_a_new_fingerprint_after_the_normal_path_writes(tmp_path, tree, plane_year, reads):
    _edit(tmp_path, tree)
    assert run(tmp_path, PLANES).updated == 1
    before = rows_written()
    assert run(tmp_path, PLANES).unchanged == 4
    assert rows_written() == before and reads == [1]


def test_a_file_with_row_errors_never_records(tmp_path, year, reads):
    import_csv(tmp_path, "factors:plane", PLANE_FACTORS, "--year", "2025")
    bad = PLANES + "13032,GVA,CDG,100001,1,bogus\n"
    assert run(tmp_path, bad).failed
    skipped = run(tmp_path, bad, skip_invalid=True)
    assert skipped.skipped_rows == [5] and skipped.created == 4
    assert not ImportFingerprint.objects.exists()
    assert run(tmp_path, bad, skip_invalid=True).unchanged == 4 and len(reads) == 3


def test_a_change_while_the_import_runs_records_nothing(tmp_path, tree, plane_year, monkeypatch):
    """Marks are taken before the import reads anything and again at the end of its write: a unit created
    in between (here: while the file is read) leaves no fingerprint, as the import may have read either state."""
    real = importing.read_csv

    def reading_while_a_unit_is_created(*args, **kwargs):
        _unit(tmp_path, tree)
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "read_csv", reading_while_a_unit_is_created)
    changed = PLANES.replace("GVA,CDG,100001,1,", "GVA,CDG,100001,2,")
    assert run(tmp_path, changed).updated == 1
    assert ImportFingerprint.objects.get(kind="plane").digest != importing_digest(changed)
    monkeypatch.setattr(importing, "read_csv", real)
    assert run(tmp_path, PLANES).updated == 1  # control: the same kind of import, undisturbed, records
    assert ImportFingerprint.objects.get(kind="plane").digest == importing_digest(PLANES)


def importing_digest(text: str) -> str:
    from modules.fingerprints import file_digest

    return file_digest(text.encode())


def test_the_per_year_write_locks_the_kind_until_it_commits(tmp_path, plane_year):
    """SHARE ROW EXCLUSIVE on the entry table, taken by the write and held to its transaction's end (here the
    test's): no edit of the kind can commit while the import runs, so the marks read at its end are exact."""
    run(tmp_path, PLANES.replace(",first", ",business"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass",
                       [PlaneTrip._meta.db_table])
        assert "ShareRowExclusiveLock" in {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_an_edit_during_a_per_year_import_waits_for_it(tmp_path, plane_year, monkeypatch):
    """The import holds SHARE ROW EXCLUSIVE on the kind's table and later updates the module reports it changed;
    an edit takes the kind's table before its module report's row, so it waits for the import instead of holding
    that row while waiting for the table (a deadlock, which PostgreSQL would break by failing one of them)."""
    import threading

    from django.db import connections

    locked, go, errors = threading.Event(), threading.Event(), []
    real = importing.entries_lock

    def pausing(spec, request):
        real(spec, request)
        locked.set()
        go.wait(10)

    monkeypatch.setattr(importing, "entries_lock", pausing)

    def in_thread(work):
        def target():
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                connections.close_all()
        return threading.Thread(target=target)

    trip_id = PlaneTrip.objects.get(destination_iata="LIS").pk
    importer = in_thread(lambda: run(tmp_path, PLANES.replace("GVA,CDG,100001,1,", "GVA,CDG,100001,2,")))
    editor = in_thread(lambda: entry_update(KINDS["plane"], PlaneTrip.objects.get(pk=trip_id),
                                            cells={"number_of_trips": "5"}, actor=None))
    importer.start()
    assert locked.wait(10)
    editor.start()
    with connection.cursor() as cursor:  # the edit is waiting for a lock
        for _ in range(100):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
    go.set()
    importer.join(20)
    editor.join(20)
    assert errors == []
    assert PlaneTrip.objects.get(pk=trip_id).number_of_trips == 5
    assert PlaneTrip.objects.get(destination_iata="CDG", origin_iata="GVA").number_of_trips == 2
