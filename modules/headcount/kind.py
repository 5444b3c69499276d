"""Headcount: members and students. Each FTE eats, throws away and commutes per the year's factors.

Every factor of the kind for the year gives one leaf per entry (reference-domain §4.3, strategy B3):
kg = fte × number_of_unit_per_fte × ef_kg_co2eq_per_unit, quantity = fte × number_of_unit_per_fte
(kg of food or waste, km of commuting). Several leaves per entry, so no kg_co2eq override (decision 14).
"""

from __future__ import annotations

from collections.abc import Callable

from carbon.taxonomy import EntryKind
from factors.kinds.headcount import HeadcountFactor, MemberFactor, StudentFactor
from infra.csvio import CellError, ColumnSpec, RowError, decimal_cell, parse_int, text_cell
from modules.base import EntrySource, Leaf
from modules.headcount.models import Member, SiusCode, Student
from modules.importing import UNIT_COLUMN
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf

PER_YEAR = "headcount_per_year_file"  # RowContext.cache key, see note_file_kind


# ------------------------------------------------------------------------------------- validators
# Reusable by the API serializers: each takes the cell text and raises CellError naming the column.
def validate_sius_code(text: str) -> int:
    code = parse_int(text, allow_empty=False, column="sius_code")
    if code not in SiusCode.values:
        raise CellError(f"'{text}' is not a SIUS code (one of: {', '.join(map(str, SiusCode.values))})",
                        column="sius_code")
    return code


def validate_member_fte(text: str):
    return decimal_cell(text, "fte", Member._meta.get_field("fte"), min=0, max=1)


def validate_student_fte(text: str):
    return decimal_cell(text, "fte", Student._meta.get_field("fte"), min=0)


def note_file_kind(values: dict[str, str], ctx: RowContext) -> None:
    """Remember whether this is a per-year file (it has the unit column) for the cross-row checks:
    a per-year file replaces the per-year rows, a unit file replaces nothing. The row context does
    not say it otherwise."""
    ctx.cache.setdefault(PER_YEAR, bool(values.get(UNIT_COLUMN)))


_MEMBER_FIELD = Member._meta.get_field  # cell limits come from the model's fields


def parse_member(values: dict[str, str], ctx: RowContext) -> dict:
    note_file_kind(values, ctx)
    return {
        "name": text_cell(values["name"], "name", _MEMBER_FIELD("name")),
        "sius_code": validate_sius_code(values["sius_code"]),
        "user_institutional_id": text_cell(values["user_institutional_id"], "user_institutional_id",
                                           _MEMBER_FIELD("user_institutional_id")),
        "fte": validate_member_fte(values["fte"]),
    }


def parse_student(values: dict[str, str], ctx: RowContext) -> dict:
    note_file_kind(values, ctx)
    return {"fte": validate_student_fte(values["fte"])}


# ---------------------------------------------------------------------------------- cross-row checks
def _kept_rows(model, ctx: RowContext, unit_ids: set[int]):
    """Rows of these units and year that the import being validated keeps: everything for a unit file,
    everything but the per-year-file rows for a per-year file."""
    rows = model.objects.filter(module_report__report__year_id=ctx.year, module_report__report__unit_id__in=unit_ids)
    if ctx.cache.get(PER_YEAR, True):
        rows = rows.exclude(source=EntrySource.CSV_MODULE_PER_YEAR)
    if ctx.replacing is not None:
        rows = rows.exclude(pk=ctx.replacing)
    return rows


def _source_text(source: int) -> str:
    return EntrySource(source).label.lower()


def validate_members(rows: list[tuple[int, dict]], ctx: RowContext) -> list[RowError]:
    """One member per SCIPER per unit and year: in the file, and against the rows the import keeps."""
    column = "user_institutional_id"
    kept = {(unit_id, sciper): source for unit_id, sciper, source in _kept_rows(
        Member, ctx, {v["unit"].pk for _, v in rows}).values_list("module_report__report__unit_id", column, "source")}
    # Kept in the context: a large file is validated chunk by chunk, and duplicates may span chunks.
    errors, seen = [], ctx.memo("members_seen", dict)
    for number, values in rows:
        unit, sciper = values["unit"], values[column]
        key = (unit.pk, sciper)
        if key in seen:
            errors.append(RowError(number, column,
                                   f"duplicate user_institutional_id {sciper} (also on row {seen[key]})"))
            continue
        seen[key] = number
        if key in kept:
            errors.append(RowError(number, column, f"user_institutional_id {sciper} is already a member of unit "
                                                   f"{unit.institutional_id} in {ctx.year} ({_source_text(kept[key])}, "
                                                   f"not replaced by this import)"))
    return errors


def validate_students(rows: list[tuple[int, dict]], ctx: RowContext) -> list[RowError]:
    """Students are one row per unit and year (the unit's total FTE)."""
    column = UNIT_COLUMN if ctx.cache.get(PER_YEAR, True) else None
    kept = dict(_kept_rows(Student, ctx, {v["unit"].pk for _, v in rows})
                .values_list("module_report__report__unit_id", "source"))
    errors, seen = [], ctx.memo("students_seen", dict)
    for number, values in rows:
        unit = values["unit"]
        if unit.pk in seen:
            errors.append(RowError(number, column, f"a second student row for unit {unit.institutional_id} (also on "
                                                   f"row {seen[unit.pk]}): students are one row per unit and year"))
            continue
        seen[unit.pk] = number
        if unit.pk in kept:
            errors.append(RowError(number, column, f"unit {unit.institutional_id} already has a student row for "
                                                   f"{ctx.year} ({_source_text(kept[unit.pk])}, not replaced by this "
                                                   f"import)"))
    return errors


# ---------------------------------------------------------------------------------------- compute
def factor_leaves(model: type[HeadcountFactor], year: int) -> list[tuple[HeadcountFactor, int, dict]]:
    """(factor, its leaf, the values copied onto its rows) for every factor of the kind and year."""
    return [(f, f.emission_type, f.values_used()) for f in model.objects.filter(year=year).order_by("pk")]


def headcount_compute(model: type[HeadcountFactor]) -> Callable:
    key = f"headcount_factors:{model.__name__}"

    def compute(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
        factors = ctx.memo(key, lambda: factor_leaves(model, ctx.year))
        result = {}
        for entry in entries:
            leaves = []
            for factor, leaf, values in factors:
                quantity = entry.fte * factor.number_of_unit_per_fte
                leaves.append(Leaf(emission_type=leaf, kg_co2eq=quantity * factor.ef_kg_co2eq_per_unit,
                                   quantity=quantity, quantity_unit=factor.quantity_unit, factor_id=factor.pk,
                                   factor_values=values))
            result[entry.pk] = leaves
        return result

    return compute


def headcount_set_leaves(model: type[HeadcountFactor]) -> Callable:
    """`headcount_compute` as plans: every entry (no key) gets one leaf per factor, kg = fte × units per FTE × ef,
    quantity = fte × units per FTE."""
    key = f"headcount_factors:{model.__name__}"

    def leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
        return [SetLeaf(emission_type=leaf, multiplier=factor.number_of_unit_per_fte * factor.ef_kg_co2eq_per_unit,
                        quantity_multiplier=factor.number_of_unit_per_fte, quantity_unit=factor.quantity_unit,
                        factor_id=factor.pk, factor_values=values)
                for factor, leaf, values in ctx.memo(key, lambda: factor_leaves(model, ctx.year))]

    return leaves


SPECS = [
    EntryKindSpec(
        name="member",
        emission_roots=("food", "waste", "commuting"),
        kinds=(EntryKind.member,),
        model=Member,
        columns=(ColumnSpec("name", required=True), ColumnSpec("sius_code", required=True),
                 ColumnSpec("user_institutional_id", required=True), ColumnSpec("fte", required=True),
                 ColumnSpec("note")),
        parse_row=parse_member,
        compute=headcount_compute(MemberFactor),
        set_based=SetBased(keys=(), leaves=headcount_set_leaves(MemberFactor), amount="e.fte"),
        override_leaf=None,
        factor_kinds=("member",),
        measured=("fte",),
        validate_rows=validate_members,
        label="Members",
    ),
    EntryKindSpec(
        name="student",
        emission_roots=("food", "waste", "commuting"),
        kinds=(EntryKind.student,),
        model=Student,
        columns=(ColumnSpec("fte", required=True), ColumnSpec("note")),
        parse_row=parse_student,
        compute=headcount_compute(StudentFactor),
        set_based=SetBased(keys=(), leaves=headcount_set_leaves(StudentFactor), amount="e.fte"),
        override_leaf=None,
        factor_kinds=("student",),
        measured=("fte",),
        validate_rows=validate_students,
        label="Students",
    ),
]
