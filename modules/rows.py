"""One entry row, from its cells to model values: the rules a CSV import and the lab API share.

A CSV row and a JSON body speak one vocabulary (the CSV contract's column names) and go through the same
parsing, so the two paths refuse the same values with the same messages.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from django.db import models

from infra.csvio import CellError, RowError, RowWarning, formula_error, parse_decimal
from modules.base import Entry
from modules.registry import EntryKindSpec, RowContext

__all__ = ["OVERRIDE_COLUMN", "EntryInvalid", "entry_cells", "override_value", "row_values", "rows_check",
           "single_row_values"]

OVERRIDE_COLUMN = "kg_co2eq"  # an imported total, stored verbatim (decision 14: single-leaf kinds only)
REQUIRED = "a value is required"


class EntryInvalid(ValueError):
    """A row refused: its errors, each naming its column when it has one."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(f"{e.column or 'row'}: {e.reason}" for e in errors))
        self.errors = errors


def override_value(spec: EntryKindSpec, text: str) -> Decimal | None:
    if not text:
        return None
    if spec.override_leaf is None:
        raise CellError("override not supported for this kind", column=OVERRIDE_COLUMN)
    return parse_decimal(text, min=0, column=OVERRIDE_COLUMN)


def row_values(spec: EntryKindSpec, cells: dict[str, str], ctx: RowContext) -> dict:
    """The model values of one row's cells (the kind's parser, the note, the override); raises CellError."""
    values = spec.parse_row(cells, ctx)
    values.setdefault("note", cells.get("note", ""))
    values["kg_co2eq_override"] = override_value(spec, cells.get(OVERRIDE_COLUMN, ""))
    return fit_to_fields(spec.model, values)


def fit_to_fields(model, values: dict) -> dict:
    """Hold every value to its model field's limits (the one place they are written): a number with more
    digits than the column holds, or a text longer than it, is a cell error naming its column, never a
    database error. Numbers are rounded to the field's decimal places as PostgreSQL would store them, so
    what is computed is what is stored."""
    limits = _field_limits(model)
    for name, value in values.items():
        limit = limits.get(name)
        if limit is None:
            continue
        digits, quantum, max_length = limit
        column = OVERRIDE_COLUMN if name == "kg_co2eq_override" else name
        if isinstance(value, Decimal) and quantum is not None:
            if value and value.adjusted() >= digits:
                raise CellError(f"'{value}' is too large", column=column)
            values[name] = value.quantize(quantum, rounding=ROUND_HALF_UP)
        elif isinstance(value, str) and max_length is not None and len(value) > max_length:
            raise CellError(f"at most {max_length} characters (got {len(value)})", column=column)
    return values


def rows_check(spec: EntryKindSpec, rows: list[tuple[int, object, dict]], ctx: RowContext) -> list[RowError]:
    """The kind's whole-file rules over parsed (number, unit, values) rows. The very dicts that will build
    the entries get the row's unit under "unit" for the call: the rules may fill values in place."""
    if not spec.validate_rows:
        return []
    for _, unit, values in rows:
        values["unit"] = unit
    try:
        return spec.validate_rows([(n, v) for n, _, v in rows], ctx)
    finally:
        for _, _, values in rows:
            values.pop("unit", None)


@cache
def _field_limits(model) -> dict[str, tuple[int | None, Decimal | None, int | None]]:
    """Field name (and attname) → (integer digits, quantum, max length) of the fields that have limits; read once
    per model (an import checks every value of every row against them)."""
    limits = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, models.DecimalField):
            limit = (field.max_digits - field.decimal_places, Decimal(1).scaleb(-field.decimal_places), None)
        elif field.max_length is not None:
            limit = (None, None, field.max_length)
        else:
            continue
        limits[field.name] = limits[field.attname] = limit
    return limits


def single_row_values(spec: EntryKindSpec, cells: dict[str, str], *, unit, year: int,
                      replacing: int | None = None) -> tuple[dict, list[RowWarning]]:
    """One row entered by hand or sent to the API, checked as a one-row unit file would be (`replacing`: the
    id of the entry an edit changes). Returns the model values and the warnings; raises EntryInvalid."""
    errors = []
    if (formula := formula_error(1, cells)) is not None:
        raise EntryInvalid([formula])
    # No template-row rule here (infra.importing.template_row_reason): one row entered by hand or sent to the
    # API is never a template's scaffold, so an empty amount is an error, not a skipped row.
    errors = [RowError(1, c.name, REQUIRED) for c in spec.columns if c.required and not cells.get(c.name)]
    if errors:
        raise EntryInvalid(errors)
    ctx = RowContext(year=year, row=1, per_year=False, replacing=replacing)
    try:
        values = row_values(spec, cells, ctx)
    except CellError as exc:
        raise EntryInvalid([RowError(1, exc.column, exc.reason)]) from None
    errors = rows_check(spec, [(1, unit, values)], ctx)
    if errors:
        raise EntryInvalid(errors)
    return values, [w for w in ctx.warnings if w.row in (1, None)]


def entry_cells(spec: EntryKindSpec, entry: Entry) -> dict[str, str]:
    """An entry as the cells of its CSV row (what a partial update starts from)."""
    cells = {c.name: _cell(getattr(entry, c.name, "")) for c in spec.columns}
    cells[OVERRIDE_COLUMN] = _cell(entry.kg_co2eq_override)
    return cells


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
