"""A real import reads its file once and writes chunk by chunk from a second thread (issue 13): the same rows,
numbers and history as before, nothing written when any row is bad, and a schema that carries only what its
readers use.

Chunks are lowered to 3 rows so that small files take several chunks (and several writer jobs).
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from audit.chain import CHAIN_TABLE
from carbon.models import Emission, ModuleReport
from factors.models import Location, TransportMode
from infra.bulk import background_writes, copy_tuples, foreign_keys_checked_per_statement, history_from_ids
from infra.importing import ImportRequest, get_importer
from modules.importing import _instance_builder
from modules.process.models import ProcessEmission
from modules.travel.models import PlaneTrip
from tests.campaign import import_csv, kg

HEADER = "unit_institutional_id,category,quantity\n"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr("modules.importing.CHUNK", 3)


@pytest.fixture
def process_factors(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1.5\n", "--year", "2025")


def table_counts() -> dict[str, int]:
    tables = [ProcessEmission._meta.db_table, ProcessEmission.history.model._meta.db_table,
              Emission._meta.db_table, CHAIN_TABLE]
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        return counts


def run(text: str, **options):
    return get_importer("process_emission").run(ImportRequest(source=text.encode(), year=2025, **options))


def test_a_file_in_several_chunks_gives_the_numbers_and_history_of_each_row(process_factors):
    outcome = run(HEADER + "".join(f"13032,CO2,{i}\n" for i in range(1, 11)))
    assert not outcome.errors and outcome.created == 10
    assert kg() == Decimal("82.5")  # (1 + … + 10) × 1.5
    entries = list(ProcessEmission.objects.order_by("pk"))
    assert [e.kg_co2eq for e in entries] == [Decimal(i) * Decimal("1.5") for i in range(1, 11)]
    history = ProcessEmission.history.model.objects.filter(history_type="+")
    assert sorted(history.values_list("id", flat=True)) == [e.pk for e in entries]
    assert set(history.values_list("history_change_reason", flat=True)) == {"process_emission CSV import "
                                                                             "(per-year file)"}


def test_bad_rows_in_late_chunks_roll_back_every_table_and_all_are_reported(process_factors):
    run(HEADER + "13032,CO2,2\n")  # a stored row the refused file would have replaced
    before = table_counts()
    rows = [f"13032,CO2,{i}" for i in range(1, 10)]
    rows[4], rows[8] = "13032,CO2,-1", "13032,CO2,many"  # rows 5 and 9: after chunks already written
    outcome = run(HEADER + "\n".join(rows) + "\n")
    assert [(e.row, e.column) for e in outcome.errors] == [(5, "quantity"), (9, "quantity")]
    assert outcome.failed and outcome.created == outcome.deleted == 0
    assert table_counts() == before  # entries, their history, emission rows, the audit chain
    assert list(ProcessEmission.objects.values_list("quantity", flat=True)) == [2]


def test_dry_run_and_skip_invalid_still_check_everything_before_writing(process_factors):
    text = HEADER + "".join(f"13032,CO2,{'x' if i == 4 else i}\n" for i in range(1, 8))
    before = table_counts()
    preview = run(text, dry_run=True, skip_invalid=True)
    assert preview.created == 6 and table_counts() == before
    outcome = run(text, skip_invalid=True)
    assert outcome.skipped_rows == [4] and ProcessEmission.objects.count() == 6


def test_the_writer_thread_keeps_order_and_its_failure_rolls_back(year):
    module_report = ModuleReport.objects.filter(report__year_id=2025, module=8).first()
    columns = ["id", "module_report_id", "source", "note", "created_at", "updated_at", "category", "subcategory",
               "quantity"]
    from django.utils import timezone

    now = timezone.now()
    with transaction.atomic(), background_writes():
        copy_tuples(ProcessEmission._meta.db_table, columns,
                    [(900001, module_report.pk, 1, "", now, now, "CO2", "", 5)])
        history_from_ids(ProcessEmission, [900001], history_type="+", reason="test")  # sees the row above
    assert ProcessEmission.history.model.objects.filter(id=900001, history_type="+").exists()

    with pytest.raises(IntegrityError), transaction.atomic(), \
            foreign_keys_checked_per_statement(ProcessEmission), background_writes():
        copy_tuples(ProcessEmission._meta.db_table, columns,
                    [(900002, module_report.pk, 1, "", now, now, "CO2", "", 1)])
        copy_tuples(ProcessEmission._meta.db_table, columns,  # no such module report: refused in the thread
                    [(900003, 10 ** 12, 1, "", now, now, "CO2", "", 1)])
    assert not ProcessEmission.objects.filter(pk__in=[900002, 900003]).exists()


def test_instances_built_without_init_equal_the_ones_init_builds(year):
    airport = Location.objects.create(transport_mode=TransportMode.PLANE, name="GVA", iata_code="GVA",
                                      country_code="CH", latitude=46.2381, longitude=6.1090, natural_key="plane:GVA")
    module_report = ModuleReport.objects.filter(report__year_id=2025, module=2).first()
    values = {"origin_iata": "GVA", "destination_iata": "ZRH", "origin": airport, "destination": None,
              "user_institutional_id": "123456", "number_of_trips": 2, "cabin_class": "economy",
              "distance_km": 95, "note": "", "kg_co2eq_override": None}
    common = {"source": 1, "created_by": None, "created_at": None, "updated_at": None}
    built = _instance_builder(PlaneTrip, **common)(module_report.pk, dict(values))
    expected = PlaneTrip(module_report_id=module_report.pk, **common, **values)
    fields = [f.attname for f in PlaneTrip._meta.concrete_fields]
    assert [getattr(built, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert built.origin is airport and built.destination is None and built._state.adding


@pytest.mark.django_db
def test_the_schema_carries_only_what_its_readers_use():
    """The review of issue 13, pinned: emission rows have no database-checked links; entry history tables
    index the entry, the date, the user and the module report only; entries do not index their creator."""
    def indexed_columns(table: str) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                           "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass", [table])
            return {name for (name,) in cursor.fetchall()}

    def foreign_keys(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                           [table])
            return cursor.fetchone()[0]

    assert foreign_keys(Emission._meta.db_table) == 0
    history = PlaneTrip.history.model._meta.db_table
    assert indexed_columns(history) == {"history_id", "id", "history_date", "history_user_id", "module_report_id"}
    assert foreign_keys(history) == 0
    assert indexed_columns(PlaneTrip._meta.db_table) == {"id", "module_report_id", "origin_id", "destination_id"}
    assert foreign_keys(PlaneTrip._meta.db_table) == 2  # its module report and its creator


def test_a_failure_while_the_writer_works_stops_it_and_rolls_back(process_factors, monkeypatch):
    """An exception in the parsing thread (a preempted job, a bug) after chunks were handed to the writer: the
    writer's queue is dropped, the transaction rolls back, and the connection is usable afterwards."""
    from modules.importing import _EntryWriter

    original, calls = _EntryWriter.insert, []

    def insert_then_fail(self, rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("preempted")
        return original(self, rows)

    monkeypatch.setattr(_EntryWriter, "insert", insert_then_fail)
    before = table_counts()
    with pytest.raises(RuntimeError, match="preempted"):
        run(HEADER + "".join(f"13032,CO2,{i}\n" for i in range(1, 11)))
    assert calls[:2] == [3, 3] and table_counts() == before
    assert ProcessEmission.objects.count() == 0  # and the connection still answers
