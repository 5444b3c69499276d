"""A per-year file re-imported is a diff: rows found again are not written at all; only added, changed and
removed rows are written and recorded, and only their modules go back to in progress (decision 7).

Small trees here; the demo's re-imports are in `test_reimport_diff_demo.py`. "Nothing written" is asserted with
PostgreSQL's own per-transaction write counters over every table, so a stray UPDATE of statistics or statuses
would be caught too.
"""

from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db import connection

from audit.models import ChainLink
from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import Module
from infra.importing import ImportRequest, get_importer
from modules.headcount.models import Member
from modules.process.models import ProcessEmission
from tests.campaign import import_csv, kg, write_csv

PROCESS_FACTORS = "category,subcategory,unit,ef_kg_co2eq_per_unit\nCO2,industrial,kg,1.5\nCH4,,kg,28\n"
PROCESS_HEADER = "unit_institutional_id,category,subcategory,quantity,note\n"
IT4R_ROWS = "13032,co2,industrial,100.0,\n13032,co2,industrial,50.0,\n"
LAB_ROWS = "14011,ch4,,2,\n"
MEMBER_FACTORS = ("headcount_category,headcount_class,headcount_subclass,unit,number_of_unit_per_fte,"
                  "ef_kg_co2eq_per_unit\nfood,vegetarian,,kg,100,1.0\n")
MEMBERS = ("unit_institutional_id,name,sius_code,user_institutional_id,fte,note\n"
           "13032,Alice,51,100001,1.0,\n13032,Bob,53,100002,0.8,\n13032,Carol,57,100003,0.5,\n")


def rows_written() -> int:
    """Rows inserted, updated or deleted so far by this transaction, in any table (PostgreSQL's counters)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return cursor.fetchone()[0]


def run(tmp_path, kind: str, text: str, **options):
    """The importer itself (what the command, the worker and the pages call), without their audit event."""
    path = write_csv(tmp_path, f"{kind}.csv", text)
    return get_importer(kind).run(ImportRequest(source=str(path), year=2025, **options))


def module(cf: str, which: Module) -> ModuleReport:
    return ModuleReport.objects.get(report__unit__institutional_id=cf, report__year_id=2025, module=which)


def validate(*modules: ModuleReport) -> None:
    ModuleReport.objects.filter(pk__in=[m.pk for m in modules]).update(status=ModuleStatus.VALIDATED)


def history(model, kind: str) -> int:
    return model.history.filter(history_type=kind).count()


@pytest.fixture
def process_year(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", PROCESS_FACTORS, "--year", "2025")
    first = run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + LAB_ROWS)
    assert (first.created, first.unchanged) == (3, 0)
    return year


def test_same_file_twice_writes_nothing_and_keeps_validations(tmp_path, process_year):
    it4r, lab = module("13032", Module.process_emissions), module("14011", Module.process_emissions)
    validate(it4r, lab)
    ids = sorted(ProcessEmission.objects.values_list("pk", flat=True))
    links = ChainLink.objects.count()
    for _ in range(2):
        before = rows_written()
        outcome = run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + LAB_ROWS)
        assert rows_written() == before  # no entry, history, emission, status, statistics or chain row
        assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (0, 0, 0, 3)
        assert outcome.summary() == "process_emission: 3 rows read, added 0, changed 0, removed 0, unchanged 3"
    assert sorted(ProcessEmission.objects.values_list("pk", flat=True)) == ids
    assert (history(ProcessEmission, "+"), history(ProcessEmission, "-"), history(ProcessEmission, "~")) == (3, 0, 0)
    assert ChainLink.objects.count() == links
    assert {module("13032", Module.process_emissions).status,
            module("14011", Module.process_emissions).status} == {ModuleStatus.VALIDATED}
    assert kg() == Decimal("281")  # 150 + 75 + 2 × 28


def test_rows_in_another_order_are_the_same_rows(tmp_path, process_year):
    before = rows_written()
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + LAB_ROWS + "13032,co2,industrial,50,\n"
                  "13032,CO2,industrial,100.000,\n")  # parsed values compared, not the text
    assert outcome.unchanged == 3 and rows_written() == before


def test_one_changed_row_is_one_change_in_place(tmp_path, process_year):
    """Process emissions have no stable key: the one stored row left over and the one new row of the same
    module report pair up as a change ('~', same id), not a removal and an addition."""
    it4r, lab = module("13032", Module.process_emissions), module("14011", Module.process_emissions)
    validate(it4r, lab)
    changed_id = ProcessEmission.objects.get(quantity=50).pk
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + "13032,co2,industrial,100.0,\n"
                  "13032,co2,industrial,60.0,\n" + LAB_ROWS)
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (0, 1, 0, 2)
    assert ProcessEmission.objects.get(pk=changed_id).quantity == 60
    assert ProcessEmission.objects.get(pk=changed_id).kg_co2eq == Decimal("90")
    assert Emission.objects.get(entry_id=changed_id).kg_co2eq == Decimal("90")
    changed = ProcessEmission.history.filter(history_type="~")
    assert [(h.id, h.quantity) for h in changed] == [(changed_id, 60)]
    assert changed.get().history_change_reason.startswith("process_emission CSV import (per-year file)")
    assert (history(ProcessEmission, "+"), history(ProcessEmission, "-")) == (3, 0)
    assert module("13032", Module.process_emissions).status == ModuleStatus.IN_PROGRESS
    assert module("14011", Module.process_emissions).status == ModuleStatus.VALIDATED  # its rows did not change
    assert module("13032", Module.process_emissions).stats["total"] == "240.000000"


def test_removed_and_added_rows(tmp_path, process_year):
    validate(module("13032", Module.process_emissions), module("14011", Module.process_emissions))
    lab_id = ProcessEmission.objects.get(module_report__report__unit__institutional_id="14011").pk
    # The lab's row is gone from the file; IT4R gets a third row.
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + "13032,ch4,,1,\n")
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (1, 0, 1, 2)
    assert not ProcessEmission.objects.filter(pk=lab_id).exists()
    assert not Emission.objects.filter(entry_id=lab_id).exists()
    assert ProcessEmission.history.get(history_type="-").id == lab_id
    assert history(ProcessEmission, "+") == 4
    assert {module("13032", Module.process_emissions).status,
            module("14011", Module.process_emissions).status} == {ModuleStatus.IN_PROGRESS}
    assert kg() == Decimal("253")  # 150 + 75 + 28


def test_duplicates_pair_one_to_one(tmp_path, year):
    import_csv(tmp_path, "factors:process_emission", PROCESS_FACTORS, "--year", "2025")
    twice = PROCESS_HEADER + "13032,co2,industrial,10,\n" * 2
    run(tmp_path, "process_emission", twice)
    assert run(tmp_path, "process_emission", twice).unchanged == 2
    three = run(tmp_path, "process_emission", twice + "13032,co2,industrial,10,\n")
    assert (three.created, three.unchanged) == (1, 2)
    once = run(tmp_path, "process_emission", PROCESS_HEADER + "13032,co2,industrial,10,\n")
    assert (once.created, once.updated, once.deleted, once.unchanged) == (0, 0, 2, 1)
    assert ProcessEmission.objects.count() == 1 and kg() == Decimal("15")


def test_a_stable_key_pairs_changed_rows_by_it(tmp_path, year):
    """Members are unique per module report by SCIPER (a constraint): a changed FTE is a change of that
    member whatever the order of the file; a new SCIPER is an addition, a missing one a removal."""
    import_csv(tmp_path, "factors:member", MEMBER_FACTORS, "--year", "2025")
    run(tmp_path, "member", MEMBERS)
    ids = dict(Member.objects.values_list("user_institutional_id", "pk"))
    validate(module("13032", Module.headcount))
    outcome = run(tmp_path, "member", "unit_institutional_id,name,sius_code,user_institutional_id,fte,note\n"
                  "13032,Dave,51,100004,1.0,\n13032,Carol,57,100003,0.5,\n13032,Alice,51,100001,0.6,\n")
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (1, 1, 1, 1)
    assert Member.objects.get(user_institutional_id="100001").pk == ids["100001"]
    assert Member.objects.get(user_institutional_id="100001").fte == Decimal("0.6")
    assert [h.id for h in Member.history.filter(history_type="~")] == [ids["100001"]]
    assert [h.id for h in Member.history.filter(history_type="-")] == [ids["100002"]]
    assert module("13032", Module.headcount).status == ModuleStatus.IN_PROGRESS


def test_a_bad_row_writes_nothing(tmp_path, process_year, capsys):
    validate(module("13032", Module.process_emissions))
    before = rows_written()
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + "13032,co2,industrial,70,\n13032,co2,,-1,\n")
    assert outcome.failed and rows_written() == before
    with pytest.raises(CommandError):
        import_csv(tmp_path, "process_emission", PROCESS_HEADER + "13032,co2,industrial,70,\n13032,co2,,x,\n",
                   "--year", "2025")
    assert ProcessEmission.objects.count() == 3
    assert module("13032", Module.process_emissions).status == ModuleStatus.VALIDATED


def test_dry_run_says_what_would_change_and_the_command_prints_it(tmp_path, process_year, capsys):
    before = rows_written()
    preview = run(tmp_path, "process_emission", PROCESS_HEADER + "13032,co2,industrial,100.0,\n" + LAB_ROWS
                  + "14011,co2,industrial,1,\n", dry_run=True)
    assert rows_written() == before
    assert preview.summary() == ("process_emission: 3 rows read, would add 1, changed 0, removed 1, "
                                 "unchanged 2")
    import_csv(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + LAB_ROWS, "--year", "2025")
    assert "added 0, changed 0, removed 0, unchanged 3" in capsys.readouterr().out


def test_unit_files_still_append(tmp_path, process_year):
    run(tmp_path, "process_emission", "category,subcategory,quantity\nCH4,,1\n", unit_cf="14011")
    again = run(tmp_path, "process_emission", "category,subcategory,quantity\nCH4,,1\n", unit_cf="14011")
    assert again.created == 1 and not again.diff
    # The per-year file's diff leaves rows of other sources alone.
    assert run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + LAB_ROWS).unchanged == 3
    assert ProcessEmission.objects.count() == 5


def test_a_large_file_read_twice_diffs_the_same(tmp_path, process_year, monkeypatch):
    """Files above the streaming threshold are validated in one reading and written in a second one."""
    from modules import importing

    monkeypatch.setattr(importing, "STREAM_THRESHOLD_BYTES", 10)
    validate(module("14011", Module.process_emissions))
    before = rows_written()
    assert run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + LAB_ROWS).unchanged == 3
    assert rows_written() == before
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + "14011,ch4,,3,\n")
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (0, 1, 0, 2)
    assert module("14011", Module.process_emissions).status == ModuleStatus.IN_PROGRESS


def test_past_the_pending_limit_new_rows_are_additions(tmp_path, process_year, monkeypatch):
    """Rows waiting for a pair are bounded (memory): past the limit a new row is an addition and the stored row
    it would have replaced a removal — the same rows in the end, not a change in place."""
    from modules import importing

    monkeypatch.setattr(importing, "PENDING_LIMIT", 0)
    lab_id = ProcessEmission.objects.get(module_report__report__unit__institutional_id="14011").pk
    outcome = run(tmp_path, "process_emission", PROCESS_HEADER + IT4R_ROWS + "14011,ch4,,3,\n")
    assert (outcome.created, outcome.updated, outcome.deleted, outcome.unchanged) == (1, 0, 1, 2)
    assert not ProcessEmission.objects.filter(pk=lab_id).exists()
    assert kg() == Decimal("309")  # 150 + 75 + 3 × 28


@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_the_upload_job_summary_says_what_changed(year, tmp_path, monkeypatch):
    """The worker's path (admin and lab uploads): the job's message and summary carry the diff."""
    from django_q.conf import Conf

    from carbon.jobs.services import import_enqueue

    monkeypatch.setattr(Conf, "SYNC", True)  # a dispatched job runs at once, here, as a worker would
    import_csv(tmp_path, "factors:process_emission", PROCESS_FACTORS, "--year", "2025")
    content = (PROCESS_HEADER + IT4R_ROWS).encode()
    import_enqueue(kind="process_emission", content=content, file_name="p.csv", year=2025)
    validate(module("13032", Module.process_emissions))
    pipeline = import_enqueue(kind="process_emission", content=content, file_name="p.csv", year=2025)
    job = pipeline.jobs.order_by("pk").first()
    assert job.status_message == "process_emission: 2 rows read, added 0, changed 0, removed 0, unchanged 2"
    assert {k: job.summary[k] for k in ("added", "changed", "removed", "unchanged")} == {
        "added": 0, "changed": 0, "removed": 0, "unchanged": 2}
    assert module("13032", Module.process_emissions).status == ModuleStatus.VALIDATED
