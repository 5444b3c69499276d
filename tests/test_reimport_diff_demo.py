"""The demo's per-year files re-imported as an operator would (issue 13): the same file changes nothing —
no row of any table written, ids and validations kept (IT4R keeps its 2/8) — and one changed row changes
one row and reopens that row's module only. Every test of this module uses the demo (module-scoped)."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import ChainLink
from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import Module
from infra.importing import ImportRequest, get_importer
from modules.registry import load_order
from modules.travel.models import PlaneTrip

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "2025"
PER_YEAR_KINDS = [spec.name for spec in load_order() if (DEMO_DIR / f"{spec.name}.csv").is_file()]


def rows_written() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return cursor.fetchone()[0]


def validated() -> set[tuple[str, int]]:
    return set(ModuleReport.objects.filter(status=ModuleStatus.VALIDATED)
               .values_list("report__unit__institutional_id", "module"))


def reimport(kind: str, source):
    return get_importer(kind).run(ImportRequest(source=source, year=2025))


def test_the_demo_has_validated_modules_and_per_year_files(demo):
    assert ("13032", Module.headcount) in validated() and ("13032", Module.professional_travel) in validated()
    assert {"plane", "member", "process_emission", "building_room"} <= set(PER_YEAR_KINDS)


@pytest.mark.parametrize("kind", PER_YEAR_KINDS)
def test_each_demo_file_reimported_twice_writes_nothing(demo, kind):
    model = get_importer(kind).spec.model
    ids = sorted(model.objects.values_list("pk", flat=True))
    before_validated, links, emissions = validated(), ChainLink.objects.count(), Emission.objects.count()
    for _ in range(2):
        before = rows_written()
        outcome = reimport(kind, str(DEMO_DIR / f"{kind}.csv"))
        assert not outcome.errors, outcome.errors
        assert rows_written() == before, f"{kind}: {outcome.summary()}"
        assert (outcome.created, outcome.updated, outcome.deleted) == (0, 0, 0)
        assert outcome.unchanged == len(ids)
    assert sorted(model.objects.values_list("pk", flat=True)) == ids
    assert (validated(), ChainLink.objects.count(), Emission.objects.count()) == (before_validated, links, emissions)


def test_the_command_writes_only_its_audit_event(demo, capsys):
    history = PlaneTrip.history.count()
    links = ChainLink.objects.count()
    call_command("import_csv", "plane", str(DEMO_DIR / "plane.csv"), "--year", "2025")
    assert "added 0, changed 0, removed 0, unchanged" in capsys.readouterr().out
    assert PlaneTrip.history.count() == history
    assert ChainLink.objects.count() == links + 1  # the import_finished event, chained; no history row


def test_one_changed_plane_row_reopens_its_module_only(demo, tmp_path):
    text = (DEMO_DIR / "plane.csv").read_text(encoding="utf-8")
    old_line = "13032,GVA,LIS,100002,2025-10-07,1,business,EUNIS board meeting"
    assert old_line in text
    trip = PlaneTrip.objects.get(origin_iata="GVA", destination_iata="LIS", user_institutional_id="100002")
    kg_once = trip.kg_co2eq
    before_validated = validated()
    changed = tmp_path / "plane.csv"
    changed.write_text(text.replace(old_line, old_line.replace(",1,business,", ",2,business,")), encoding="utf-8")
    history = PlaneTrip.history.count()
    outcome = reimport("plane", str(changed))
    assert (outcome.created, outcome.updated, outcome.deleted) == (0, 1, 0)
    assert PlaneTrip.history.count() == history + 1
    assert PlaneTrip.history.latest("history_id").history_type == "~"
    trip.refresh_from_db()
    assert trip.number_of_trips == 2 and trip.kg_co2eq == 2 * kg_once
    assert validated() == before_validated - {("13032", Module.professional_travel)}
    assert ("13032", Module.headcount) in validated()  # IT4R's headcount did not change
