"""Headcount (members, students) end to end: factors, per-year and unit files, SCIPER rules, recalculation."""

import shutil
from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db import IntegrityError, transaction

from carbon.models import Emission, ModuleReport, ModuleStatus
from carbon.taxonomy import EntryKind, Module
from factors.kinds.headcount import MemberFactor, StudentFactor
from modules.base import EntrySource
from modules.headcount.models import Member, Student
from tests.campaign import import_csv, kg
from tests.samples import SAMPLES

CSV_DIR = str(SAMPLES)
# reference-domain §8.6
FACTORS = ("headcount_category,headcount_class,headcount_subclass,unit,number_of_unit_per_fte,ef_kg_co2eq_per_unit\n"
           "food,vegetarian,,kg,100,1.0\nwaste,incineration,,kg,50,0.5\ncommuting,public_transport,,km,200,0.2\n")
MEMBERS = ("unit_institutional_id,name,sius_code,user_institutional_id,fte,note\n"
           "13032,Alice,51,100001,1.0,\n13032,Bob,53,100002,0.8,\n13032,Carol,57,100003,0.5,\n")


def headcount_module(cf="13032") -> ModuleReport:
    return ModuleReport.objects.get(report__unit__institutional_id=cf, report__year_id=2025, module=Module.headcount)


def failed_import(tmp_path, capsys, kind, text, *args) -> str:
    with pytest.raises(CommandError):
        import_csv(tmp_path, kind, text, "--year", "2025", *args)
    return capsys.readouterr().out


# ------------------------------------------------------------------------------------ worked examples
def test_member_worked_example_165_and_module_379_5(tmp_path, year, tree):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    totals = dict(Member.objects.values_list("name", "kg_co2eq"))
    assert totals == {"Alice": Decimal("165"), "Bob": Decimal("132"), "Carol": Decimal("82.5")}
    alice = Member.objects.get(name="Alice")
    rows = Emission.objects.filter(kind=EntryKind.member, entry_id=alice.pk)
    assert {(r.emission_type, r.kg_co2eq, r.quantity, r.quantity_unit, r.scope) for r in rows} == {
        (10001, Decimal("100"), Decimal("100"), "kg", 3),
        (20001, Decimal("25"), Decimal("50"), "kg", 3),
        (30004, Decimal("40"), Decimal("200"), "km", 3),
    }
    food = rows.get(emission_type=10001)
    assert food.factor_id == MemberFactor.objects.get(headcount_category="food").pk
    assert food.factor_values == {"number_of_unit_per_fte": "100.000000", "ef_kg_co2eq_per_unit": "1.00000000",
                                  "unit": "kg"}
    stats = headcount_module().stats
    assert stats["by_category"] == {"commuting": "92.000000", "food": "230.000000", "waste": "57.500000"}
    assert stats["total"] == "379.500000" and stats["scope3"] == "379.500000"
    assert stats["entry_count"] == 3
    assert Emission.objects.count() == 9  # leaves only: no 40000 rollup


def test_student_worked_example_100_then_200_after_factor_reimport(tmp_path, year):
    factor = "headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nfood,vegetarian,100,{}\n"
    import_csv(tmp_path, "factors:student", factor.format("1.0"), "--year", "2025")
    import_csv(tmp_path, "student", "unit_institutional_id,fte\n13032,1.0\n", "--year", "2025")
    assert Student.objects.get().kg_co2eq == Decimal("100")
    import_csv(tmp_path, "factors:student", factor.format("2.0"), "--year", "2025")
    assert Student.objects.get().kg_co2eq == Decimal("200")
    row = Emission.objects.get(kind=EntryKind.student)
    assert (row.emission_type, row.kg_co2eq, row.quantity, row.quantity_unit) == (10001, 200, 100, "kg")


def test_member_factors_do_not_reach_students_and_vice_versa(tmp_path, year):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "factors:student", FACTORS.splitlines()[0] + "\nfood,non_vegetarian,,,10,2\n",
               "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    import_csv(tmp_path, "student", "unit_institutional_id,fte\n13032,3\n", "--year", "2025")
    assert kg(kind=EntryKind.member) == Decimal("379.5")
    assert kg(kind=EntryKind.student) == Decimal("60")  # 3 × 10 × 2, in food/non_vegetarian
    assert set(Emission.objects.filter(kind=EntryKind.student).values_list("emission_type", flat=True)) == {10002}
    # A member factor re-import flags stale only member factors.
    import_csv(tmp_path, "factors:member", FACTORS.rsplit("commuting", 1)[0], "--year", "2025")
    stale = MemberFactor.objects.filter(is_stale=True).values_list("headcount_category", flat=True)
    assert list(stale) == ["commuting"]
    assert not StudentFactor.objects.filter(is_stale=True).exists()


def test_factor_reimport_doubles_kg_and_keeps_validation(tmp_path, year):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    ModuleReport.objects.filter(pk=headcount_module().pk).update(status=ModuleStatus.VALIDATED)
    doubled = FACTORS.replace(",1.0\n", ",2.0\n").replace(",0.5\n", ",1.0\n").replace(",0.2\n", ",0.4\n")
    import_csv(tmp_path, "factors:member", doubled, "--year", "2025")
    assert kg() == Decimal("759")
    module = headcount_module()
    assert module.status == ModuleStatus.VALIDATED and module.stats["total"] == "759.000000"
    assert MemberFactor.objects.count() == 3  # upserted on identity, ids kept


def test_reimport_of_a_per_year_file_changes_nothing(tmp_path, year):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    assert Member.objects.count() == 3 and Emission.objects.count() == 9
    assert kg() == Decimal("379.5")
    assert headcount_module().stats["entry_count"] == 3


def test_new_fte_on_reimport_updates_stats(tmp_path, year):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    import_csv(tmp_path, "member", MEMBERS.replace(",0.5,", ",1.0,"), "--year", "2025")
    assert headcount_module().stats["total"] == "462.000000"  # 165 + 132 + 165


def test_factor_classes_map_to_leaves_and_units(tmp_path, year):
    import_csv(tmp_path, "factors:member",
               "headcount_category,headcount_class,headcount_subclass,number_of_unit_per_fte,ef_kg_co2eq_per_unit\n"
               "Waste,Recycling,Paper,160,0.1\ncommuting,car,,4000,0.15\nfood,Non-Vegetarian,beef,10,3\n",
               "--year", "2025")
    import_csv(tmp_path, "member", "name,sius_code,user_institutional_id,fte\nAlice,51,100001,1\n",
               "--year", "2025", "--unit", "13032")
    rows = {r.emission_type: (r.quantity, r.quantity_unit, r.kg_co2eq) for r in Emission.objects.all()}
    assert rows == {2000401: (160, "kg", 16), 30005: (4000, "km", 600), 10002: (10, "kg", 30)}
    assert MemberFactor.objects.filter(headcount_class="non_vegetarian", headcount_subclass="beef").exists()


# ----------------------------------------------------------------------------------- SCIPER uniqueness
def test_duplicate_sciper_in_the_file_is_a_row_error(tmp_path, year, capsys):
    text = MEMBERS + "13032,Alice again,51,100001,0.2,\n14011,Alice elsewhere,51,100001,0.2,\n"
    out = failed_import(tmp_path, capsys, "member", text)
    assert "row 4, column user_institutional_id: duplicate user_institutional_id 100001 (also on row 1)" in out
    assert "row 5" not in out  # another unit's headcount may hold the same person
    assert not Member.objects.exists() and not Emission.objects.exists()


def test_sciper_of_a_kept_manual_row_is_a_row_error(tmp_path, year, capsys):
    Member.objects.create(module_report=headcount_module(), source=EntrySource.USER_MANUAL, name="Alice",
                          sius_code=51, user_institutional_id="100001", fte=Decimal("1"))
    out = failed_import(tmp_path, capsys, "member", MEMBERS)
    assert ("row 1, column user_institutional_id: user_institutional_id 100001 is already a member of unit 13032 "
            "in 2025 (entered by hand, not replaced by this import)") in out
    assert Member.objects.count() == 1
    # The other rows go in when the caller skips the invalid one.
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025", "--skip-invalid")
    assert sorted(Member.objects.values_list("name", flat=True)) == ["Alice", "Bob", "Carol"]


def test_unit_file_checks_against_per_year_rows(tmp_path, year, capsys):
    import_csv(tmp_path, "member", MEMBERS, "--year", "2025")
    out = failed_import(tmp_path, capsys, "member", "name,sius_code,user_institutional_id,fte\nBob,53,100002,0.8\n",
                        "--unit", "13032")
    assert ("row 1, column user_institutional_id: user_institutional_id 100002 is already a member of unit 13032 "
            "in 2025 (per-year csv file, not replaced by this import)") in out
    assert Member.objects.count() == 3
    import_csv(tmp_path, "member", "name,sius_code,user_institutional_id,fte\nBob,53,100002,0.8\n",
               "--year", "2025", "--unit", "14011")
    assert Member.objects.count() == 4


def test_database_holds_the_member_rules(year):
    module = headcount_module()
    Member.objects.create(module_report=module, name="A", sius_code=51, user_institutional_id="1", fte=1)
    bad = [("B", 51, "1", 1), ("B", 55, "2", 1), ("B", 51, "3", Decimal("1.1")), ("B", 51, "4", -1),
           (" ", 51, "5", 1), ("B", 51, "", 1)]  # duplicate SCIPER, SIUS 55, FTE > 1, FTE < 0, blanks
    for name, sius_code, sciper, fte in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Member.objects.create(module_report=module, name=name, sius_code=sius_code, user_institutional_id=sciper,
                                  fte=fte)
    Student.objects.create(module_report=module, fte=12)
    for fte in (1, -1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Student.objects.create(module_report=module if fte == 1 else headcount_module("14011"), fte=fte)


# -------------------------------------------------------------------------------------------- students
def test_students_are_one_row_per_unit(tmp_path, year, capsys):
    out = failed_import(tmp_path, capsys, "student", "unit_institutional_id,fte\n13032,10\n14011,2\n13032,3\n")
    assert ("row 3, column unit_institutional_id: a second student row for unit 13032 (also on row 1): "
            "students are one row per unit and year") in out
    out = failed_import(tmp_path, capsys, "student", "fte\n10\n3\n", "--unit", "13032")
    assert "row 2: a second student row for unit 13032 (also on row 1)" in out
    assert not Student.objects.exists()
    import_csv(tmp_path, "student", "unit_institutional_id,fte\n13032,10\n14011,2\n", "--year", "2025")
    import_csv(tmp_path, "student", "unit_institutional_id,fte\n13032,12\n", "--year", "2025")  # replaces
    assert list(Student.objects.values_list("fte", flat=True)) == [12]
    out = failed_import(tmp_path, capsys, "student", "fte\n3\n", "--unit", "13032")
    assert "row 1: unit 13032 already has a student row for 2025 (per-year csv file, not replaced" in out
    assert Student.objects.count() == 1


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,A,55,1,1\n",
         "row 1, column sius_code: '55' is not a SIUS code (one of: 51, 52, 53, 54, 56, 57, 58, 59)"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,A,prof,1,1\n",
         "row 1, column sius_code: 'prof' is not a whole number"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,A,51,1,1.5\n",
         "row 1, column fte: must be between 0 and 1 (got 1.5)"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,A,51,1,-0.1\n",
         "row 1, column fte: must be between 0 and 1 (got -0.1)"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,,51,1,1\n",
         "row 1, column name: a value is required"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n13032,A,51,,1\n",
         "row 1, column user_institutional_id: a value is required"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte\n99999,A,51,1,1\n",
         "row 1, column unit_institutional_id: unknown unit '99999'"),
        ("member", "unit_institutional_id,name,sius_code,user_institutional_id,fte,kg_co2eq\n13032,A,51,1,1,5\n",
         "row 1, column kg_co2eq: override not supported for this kind"),
        ("student", "unit_institutional_id,fte\n13032,-1\n", "row 1, column fte: must be ≥ 0 (got -1)"),
        ("student", "unit_institutional_id,fte\n13032,1e9\n", "row 1, column fte: '1e9' is too large"),
        ("student", "unit_institutional_id,fte,kg_co2eq\n13032,1,5\n",
         "row 1, column kg_co2eq: override not supported for this kind"),
    ],
    ids=["sius-55", "sius-text", "fte-over-1", "fte-negative", "blank-name", "blank-sciper", "unknown-unit",
         "member-override", "student-negative", "student-huge", "student-override"],
)
def test_bad_entry_input_writes_nothing(tmp_path, year, capsys, kind, text, message):
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    import_csv(tmp_path, "factors:student", FACTORS, "--year", "2025")
    out = failed_import(tmp_path, capsys, kind, text)
    assert message in out
    assert not Member.objects.exists() and not Student.objects.exists() and not Emission.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("headcount_category,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nenergy,1,1\n",
         "row 1, column headcount_category: unknown headcount category 'energy' (expected food, waste or commuting)"),
        ("headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nfood,fish,1,1\n",
         "row 1, column headcount_class: unknown food class 'fish' (expected one of: vegetarian, non_vegetarian)"),
        ("headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nwaste,recycling,1,1\n",
         "row 1, column headcount_subclass: waste__recycling needs a finer class"),
        ("headcount_category,headcount_class,headcount_subclass,number_of_unit_per_fte,ef_kg_co2eq_per_unit\n"
         "waste,recycling,gold,1,1\n", "row 1, column headcount_subclass: unknown waste__recycling class 'gold'"),
        ("headcount_category,headcount_subclass,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nfood,vegetarian,1,1\n",
         "row 1, column headcount_subclass: a subclass needs a class"),
        ("headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nfood,vegetarian,1,-2\n",
         "row 1, column ef_kg_co2eq_per_unit: must be ≥ 0 (got -2)"),
        ("headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\nfood,vegetarian,x,1\n",
         "row 1, column number_of_unit_per_fte: 'x' is not a number"),
        ("headcount_category,headcount_class,number_of_unit_per_fte,ef_kg_co2eq_per_unit\n"
         "food,vegetarian,1,1\nFood,Vegetarian,2,2\n",
         "row 2, column headcount_category: duplicate factor (headcount_category='food', "
         "headcount_class='vegetarian', headcount_subclass='') (also on row 1)"),
    ],
    ids=["category", "class", "needs-subclass", "subclass", "subclass-alone", "negative-ef", "text", "duplicate"],
)
def test_bad_factor_input_writes_nothing(tmp_path, year, capsys, text, message):
    out = failed_import(tmp_path, capsys, "factors:member", text)
    assert message in out
    assert not MemberFactor.objects.exists()


# --------------------------------------------------------------------------------------- sample files
@pytest.mark.parametrize(("name", "args"), [("headcount_smoke.csv", ("--unit", "13032")),
                                            ("valid_module_per_year.csv", ())])
def test_outdated_samples_fail_on_the_missing_sius_code(tmp_path, year, capsys, name, args):
    """These reference fixtures still carry position_title/position_category instead of sius_code."""
    path = shutil.copy(f"{CSV_DIR}/{name}", tmp_path / name)
    from django.core.management import call_command

    with pytest.raises(CommandError):
        call_command("import_csv", "member", str(path), "--year", "2025", *args)
    out = capsys.readouterr().out
    assert "error: column sius_code: missing required column 'sius_code'" in out
    assert not Member.objects.exists()


def test_headcount_template_imports_as_a_unit_file_without_factors(tmp_path, year):
    from django.core.management import call_command

    path = shutil.copy(f"{CSV_DIR}/headcount_template.csv", tmp_path / "headcount_template.csv")
    call_command("import_csv", "member", str(path), "--year", "2025", "--unit", "13032")
    assert Member.objects.count() == 8
    assert set(Member.objects.values_list("source", flat=True)) == {EntrySource.CSV_MODULE_UNIT_SPECIFIC}
    assert sorted(Member.objects.values_list("sius_code", flat=True)) == [51, 52, 53, 54, 56, 57, 58, 59]
    assert Member.objects.get(user_institutional_id="208982").name == "Cécile"
    assert set(Member.objects.values_list("kg_co2eq", flat=True)) == {None}
    assert not Emission.objects.exists()
    assert headcount_module().stats["entry_count"] == 8
    # Factors imported afterwards reach the entries.
    import_csv(tmp_path, "factors:member", FACTORS, "--year", "2025")
    assert kg() == Decimal("165") * Decimal("6.2")  # Σ FTE = 1+1+1+0.3+0.1+0.8+1+1
