"""Bad input answers with (row, column, reason) and leaves the database as it was."""

import pytest
from django.core.management import CommandError, call_command

from carbon.models import Emission
from modules.headcount.models import Member
from modules.process.models import ProcessEmission
from tests.campaign import import_csv

GOOD = "unit_institutional_id,category,quantity,note\n13032,CO2,1,first\n"


@pytest.fixture
def year_with_process_entries(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    import_csv(tmp_path, "process_emission", GOOD, "--year", "2025")


def snapshot():
    return (sorted(ProcessEmission.objects.values_list("quantity", "note")), Emission.objects.count(),
            Member.objects.count())


def run_bytes(tmp_path, kind, data: bytes, *args):
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    call_command("import_csv", kind, str(path), "--year", "2025", *args)


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("process_emission", b"unit_institutional_id,category\n13032,CO2\n",
         "column quantity: missing required column 'quantity'"),
        ("process_emission", b"unit_institutional_id,category,quantity\n13032,CO2,ten\n",
         "row 1, column quantity: 'ten' is not a number"),
        ("process_emission", b"unit_institutional_id,category,quantity\n13032,CO2,-3\n",
         "row 1, column quantity: must be ≥ 0 (got -3)"),
        ("process_emission", b"unit_institutional_id,category,quantity\n404,CO2,1\n",
         "row 1, column unit_institutional_id: unknown unit '404'"),
        ("process_emission", b"unit_institutional_id,category,quantity,note\n13032,CO2,1,=HYPERLINK(\"x\")\n",
         "row 1, column note: '=HYPERLINK(\"x\")' looks like a spreadsheet formula"),
        ("process_emission", b"unit_institutional_id,category,quantity,note\n13032,CO2,1,@SUM(A1)\n",
         "looks like a spreadsheet formula (starts with '@')"),
        ("process_emission", b"unit_institutional_id,category,quantity\n13032,CO2,1,extra,cells\n",
         "row 1: too many cells"),
        ("process_emission", b"", "empty"),
        ("member", b"unit_institutional_id,name,sius_code,user_institutional_id,fte\n"
                   b"13032,Ann,51,111,1.5\n", "row 1, column fte: must be between 0 and 1 (got 1.5)"),
        ("member", b"unit_institutional_id,name,sius_code,user_institutional_id,fte\n"
                   b"13032,Ann,55,111,1\n", "row 1, column sius_code"),
        ("member", b"unit_institutional_id,name,sius_code,user_institutional_id,fte\n"
                   b"13032,Ann,51,111,1\n13032,Bob,52,111,0.5\n", "row 2, column user_institutional_id: duplicate"),
        ("process_emission", b"unit_institutional_id,category,quantity\n13032,CO2,1\n13032,CO2,x\n13032,CO2,2\n",
         "row 2, column quantity"),
    ],
    ids=["missing-column", "text-number", "negative", "unknown-unit", "formula-equals",
         "formula-at", "extra-cells", "empty-file", "fte-out-of-range", "bad-sius", "duplicate-sciper",
         "one-bad-row-in-three"],
)
def test_bad_file_is_refused_and_nothing_changes(tmp_path, year_with_process_entries, capsys, kind, data, message):
    before = snapshot()
    with pytest.raises(CommandError):
        run_bytes(tmp_path, kind, data)
    assert message in capsys.readouterr().out
    assert snapshot() == before


def test_typo_column_names_the_column_it_resembles(tmp_path, year_with_process_entries, capsys):
    with pytest.raises(CommandError):
        run_bytes(tmp_path, "process_emission", b"unit_institutional_id,category,quantitty\n13032,CO2,1\n")
    out = capsys.readouterr().out
    assert "quantitty" in out and "quantity" in out


def test_windows_1252_file_is_read_and_said(tmp_path, year_with_process_entries, capsys):
    run_bytes(tmp_path, "process_emission", "unit_institutional_id,category,quantity,note\n13032,CO2,2,café ’s\n"
              .encode("cp1252"))
    out = capsys.readouterr().out
    assert "not UTF-8; read as Windows-1252" in out
    assert ProcessEmission.objects.filter(note="café ’s").exists()


def test_semicolons_and_bom_are_accepted(tmp_path, year_with_process_entries):
    run_bytes(tmp_path, "process_emission", "\ufeffunit_institutional_id;category;quantity\n13032;CO2;4\n"
              .encode("utf-8"))
    assert list(ProcessEmission.objects.values_list("quantity", flat=True)) == [4]


def test_unknown_column_is_a_warning(tmp_path, year_with_process_entries, capsys):
    run_bytes(tmp_path, "process_emission", b"unit_institutional_id,category,quantity,colour\n13032,CO2,4,red\n")
    assert "colour" in capsys.readouterr().out
    assert ProcessEmission.objects.count() == 1


def test_skip_invalid_says_which_rows_it_skipped(tmp_path, year_with_process_entries, capsys):
    run_bytes(tmp_path, "process_emission",
              b"unit_institutional_id,category,quantity\n13032,CO2,1\n13032,CO2,x\n13032,CO2,2\n13032,CO2,-1\n",
              "--skip-invalid")
    out = capsys.readouterr().out
    assert "skipped 2 invalid rows (2, 4)" in out
    assert sorted(ProcessEmission.objects.values_list("quantity", flat=True)) == [1, 2]


def test_dry_run_writes_nothing(tmp_path, year_with_process_entries, capsys):
    before = snapshot()
    run_bytes(tmp_path, "process_emission", b"unit_institutional_id,category,quantity\n13032,CO2,9\n", "--dry-run")
    # A per-year file's dry run says the diff it would make: the one stored row would change (issue 13).
    assert "would add 0, changed 1, removed 0, unchanged 0" in capsys.readouterr().out
    assert snapshot() == before
