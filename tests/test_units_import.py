"""`import_csv units` and `import_csv users`: create, update in place, tree checks, all-or-nothing."""

import pytest
from django.core.management import CommandError, call_command

from units.models import Unit, User
from units.selectors import user_roles

HEADER = "institutional_code,institutional_id,name,level,parent_institutional_code\n"
TREE = HEADER + "1,10,ROOT,1,\n2,20,SCHOOL,2,1\n3,30,INST,3,2\n4,40,LAB,4,3\n"


def run_import(tmp_path, kind, text, *args):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_csv", kind, str(path), *args)


def test_creates_tree_with_self_inclusive_paths(db, tmp_path):
    run_import(tmp_path, "units", TREE)
    lab = Unit.objects.get(institutional_code="4")
    assert lab.path_institutional_code == "1 2 3 4"
    assert lab.path_institutional_id == "10 20 30 40"
    assert lab.path_name == "ROOT SCHOOL INST LAB"
    assert lab.parent.name == "INST"
    assert lab.history.count() >= 1


def test_children_listed_before_parents(db, tmp_path):
    lines = TREE.strip().split("\n")
    run_import(tmp_path, "units", "\n".join([lines[0]] + lines[:0:-1]) + "\n")
    assert Unit.objects.get(institutional_code="4").path_name == "ROOT SCHOOL INST LAB"


def test_update_in_place_and_recompute_paths_when_parent_changes(db, tmp_path):
    run_import(tmp_path, "units", TREE + "5,50,INST2,3,2\n")
    pk = Unit.objects.get(institutional_code="4").pk
    run_import(tmp_path, "units", HEADER + "4,40,LAB-RENAMED,4,5\n")
    lab = Unit.objects.get(institutional_code="4")
    assert lab.pk == pk
    assert lab.path_institutional_code == "1 2 5 4"
    assert lab.path_name == "ROOT SCHOOL INST2 LAB-RENAMED"
    assert Unit.objects.count() == 5


def test_reimport_changes_nothing(db, tmp_path):
    run_import(tmp_path, "units", TREE)
    before = {u.pk: (u.path_name, u.parent_id) for u in Unit.objects.all()}
    history = Unit.history.count()
    run_import(tmp_path, "units", TREE)
    assert {u.pk: (u.path_name, u.parent_id) for u in Unit.objects.all()} == before
    assert Unit.history.count() == history


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,10,ROOT,1,\n2,20,SCHOOL,2,999\n", "row 2, column parent_institutional_code: unknown parent 999"),
        ("1,10,ROOT,1,\n3,30,INST,3,1\n", "row 2, column level: level 3 under a level-1 parent"),
        ("1,10,ROOT,1,\n2,20,A,2,1\n2,21,B,2,1\n", "row 3, column institutional_code: duplicate code 2"),
        ("1,10,ROOT,1,\n2,10,A,2,1\n", "row 2, column institutional_id: duplicate cf 10"),
        ("1,10,ROOT,1,5\n", "row 1, column parent_institutional_code: a level-1 unit has no parent"),
        ("1,10,ROOT,one,\n", "row 1, column level: 'one' is not a whole number"),
        ("1,10,ROOT,5,\n", "row 1, column level: must be between 1 and 4 (got 5)"),
    ],
    ids=["orphan", "level-jump", "duplicate-code", "duplicate-cf", "root-with-parent", "text-level", "level-5"],
)
def test_bad_rows_are_reported_and_nothing_is_written(db, tmp_path, capsys, rows, message):
    with pytest.raises(CommandError, match="nothing was written"):
        run_import(tmp_path, "units", HEADER + rows)
    assert message in capsys.readouterr().out
    assert Unit.objects.count() == 0


def test_cycle_is_rejected(db, tmp_path, capsys):
    run_import(tmp_path, "units", HEADER + "1,10,ROOT,1,\n2,20,A,2,1\n3,30,B,3,2\n")
    # A update-only file moves A under B, its own child in the database: A's new level (4) fits under B's (3),
    # so only the cycle check (file ∪ database parents) can refuse it.
    with pytest.raises(CommandError):
        run_import(tmp_path, "units", HEADER + "2,20,A,4,3\n")
    out = capsys.readouterr().out
    assert "row 1, column parent_institutional_code: cycle: 2 would be its own ancestor" in out
    assert "level" not in out
    assert Unit.objects.get(institutional_code="2").parent.institutional_code == "1"


def test_missing_required_column_is_a_file_error(db, tmp_path, capsys):
    with pytest.raises(CommandError):
        run_import(tmp_path, "units", "institutional_code,name\n1,ROOT\n")
    assert "level" in capsys.readouterr().out
    assert Unit.objects.count() == 0


USERS = ("institutional_id,email,display_name,role,scope\n"
         "111,a@example.org,Ann,calco2.user.principal,unit:40\n"
         "111,a@example.org,Ann,calco2.backoffice.metier,affiliation:20\n"
         "222,b@example.org,Bob,calco2.backoffice.admin,global\n")


def test_users_import_adds_roles_and_never_removes(db, tmp_path):
    run_import(tmp_path, "units", TREE)
    run_import(tmp_path, "users", USERS)
    ann = User.objects.get(institutional_id="111")
    assert sorted(str(h.as_spec()) for h in user_roles(ann)) == [
        "calco2.backoffice.metier@affiliation:20", "calco2.user.principal@unit:40"]
    run_import(tmp_path, "users",
               "institutional_id,email,role,scope\n111,new@example.org,calco2.user.standard,own:30\n")
    ann = User.objects.get(institutional_id="111")
    assert ann.email == "new@example.org"
    assert len(user_roles(ann)) == 3


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("333,c@example.org,C,calco2.user.principal,global", "role calco2.user.principal takes the unit scope"),
        ("333,c@example.org,C,calco2.backoffice.admin,unit:40", "takes the global scope, not unit"),
        ("333,c@example.org,C,calco2.superadmin,global", "unknown role 'calco2.superadmin'"),
        ("333,c@example.org,C,calco2.user.standard,own:404", "unknown unit cf '404'"),
        ("333,c@example.org,C,calco2.user.standard,team:40", "unknown scope 'team:40'"),
    ],
    ids=["principal-global", "admin-unit", "unknown-role", "unknown-cf", "unknown-scope"],
)
def test_users_import_refuses_wrong_role_scope(db, tmp_path, capsys, row, message):
    run_import(tmp_path, "units", TREE)
    with pytest.raises(CommandError):
        run_import(tmp_path, "users", "institutional_id,email,display_name,role,scope\n" + row + "\n")
    assert message in capsys.readouterr().out
    assert not User.objects.filter(institutional_id="333").exists()


def test_empty_required_cell(db, tmp_path, capsys):
    with pytest.raises(CommandError):
        run_import(tmp_path, "units", HEADER + "1,10,,1,\n")
    assert "row 1, column name: a value is required" in capsys.readouterr().out
