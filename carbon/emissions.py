"""The storage of emission rows: where the engine's computed rows are written and summed in SQL (the one other
writer is the engine's set-based statement for `quantity × factor` kinds, `modules.engine._recalculate_set_based`).

The engine (modules) computes the rows; this module owns how they are stored: deleted by (kinds, entry ids),
inserted by COPY with ids from the table's identity, summed per module report for the statistics. Emission rows are
derived data (no history): recomputed, never edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection

from carbon.models import Emission
from infra.bulk import copy_tuples, execute_bound

__all__ = ["EMISSION_COLUMNS", "emission_sums", "emissions_delete", "emissions_insert", "emissions_replace"]

# The columns of a row tuple given to `emissions_insert` (the id comes from the table's identity).
EMISSION_COLUMNS = ["module_report_id", "unit_id", "year", "module", "kind", "entry_id", "emission_type", "scope",
                    "kg_co2eq", "quantity", "quantity_unit", "factor_id", "factor_values", "is_override",
                    "computed_at"]
_TABLE = Emission._meta.db_table


def emissions_delete(kinds: Sequence[int], entry_ids: Sequence[int]) -> None:
    """Delete the rows of these entries (an entry id is unique within its kind, not across kinds)."""
    if entry_ids:
        # Array parameters: one bound value instead of thousands of placeholders.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_TABLE} WHERE kind = ANY(%s) AND entry_id = ANY(%s)",
                           [list(kinds), list(entry_ids)])


def emissions_insert(rows: Sequence[tuple]) -> int:
    """COPY rows (tuples in EMISSION_COLUMNS order); the server gives their ids (nobody needs them here)."""
    if not rows:
        return 0
    copy_tuples(_TABLE, EMISSION_COLUMNS, rows)
    return len(rows)


_KEY = [EMISSION_COLUMNS.index(c) for c in ("kind", "entry_id", "emission_type")]
# What a recomputation changes in a row found again (its entry, kind and leaf are what found it). The texts
# (unit, factor values) repeat across rows: they are sent once each and indexed; the arrays go in binary.
_NUMBERS = [("scope", "smallint"), ("kg_co2eq", "numeric"), ("quantity", "numeric"), ("factor_id", "bigint"),
            ("is_override", "boolean")]
_UNIT, _FACTOR_VALUES, _COMPUTED_AT = (EMISSION_COLUMNS.index(c) for c in ("quantity_unit", "factor_values",
                                                                           "computed_at"))


def emissions_replace(kinds: Sequence[int], entry_ids: Sequence[int], rows: Sequence[tuple]) -> int:
    """Store the recomputed rows of these entries in place: a row whose (kind, entry, leaf) exists already is
    updated (same id: no index entry for a new id, no COPY), only rows that appear are inserted and rows that
    disappear deleted. Returns the rows written."""
    if not entry_ids:
        return 0
    existing: dict[tuple, list[int]] = {}
    for pk, *key in execute_bound(f"SELECT id, kind, entry_id, emission_type FROM {_TABLE} "
                                  "WHERE kind = ANY(%b::int[]) AND entry_id = ANY(%b::bigint[]) ORDER BY id",
                                  [list(kinds), list(entry_ids)]):
        existing.setdefault(tuple(key), []).append(pk)
    updates: list[tuple[int, tuple]] = []
    inserts: list[tuple] = []
    for row in rows:
        ids = existing.get(tuple(row[i] for i in _KEY))
        if ids:
            updates.append((ids.pop(0), row))
        else:
            inserts.append(row)
    gone = [pk for ids in existing.values() for pk in ids]
    if gone:
        execute_bound(f"DELETE FROM {_TABLE} WHERE id = ANY(%b::bigint[])", [gone])
    if updates:
        _update_rows(updates)
    emissions_insert(inserts)
    return len(updates) + len(inserts)


def _update_rows(updates: list[tuple[int, tuple]]) -> None:
    """One UPDATE … FROM unnest(arrays) of rows found again (id, new row tuple)."""
    texts: dict[tuple[str, str], int] = {}
    text_index = [texts.setdefault((row[_UNIT], row[_FACTOR_VALUES]), len(texts) + 1) for _, row in updates]
    numbers = [[row[EMISSION_COLUMNS.index(name)] for _, row in updates] for name, _ in _NUMBERS]
    names = [name for name, _ in _NUMBERS]
    casts = ", ".join(f"%b::{sql_type}[]" for _, sql_type in _NUMBERS)  # binary: no per-element escaping
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    execute_bound(
        f"UPDATE {_TABLE} AS e SET {assignments}, quantity_unit = (%s::text[])[v.t], "
        f"factor_values = ((%s::text[])[v.t])::jsonb, computed_at = %s "
        f"FROM unnest(%b::bigint[], %b::int[], {casts}) AS v(id, t, {', '.join(names)}) WHERE e.id = v.id",
        [[unit for unit, _ in texts], [values for _, values in texts], updates[0][1][_COMPUTED_AT],
         [pk for pk, _ in updates], text_index, *numbers])


def emission_sums(module_report_ids: Iterable[int]) -> list[tuple]:
    """(module report id, emission type, Σ kg, Σ quantity) for these module reports, in one GROUP BY."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT module_report_id, emission_type, SUM(kg_co2eq), SUM(quantity) FROM {_TABLE} "
            "WHERE module_report_id = ANY(%s) GROUP BY module_report_id, emission_type", [list(module_report_ids)])
        return cursor.fetchall()
