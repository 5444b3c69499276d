"""The storage of emission rows: the only place that writes or sums `carbon_emission` in SQL.

The engine (modules) computes the rows; this module owns how they are stored: deleted by (kinds, entry ids),
inserted by COPY with ids from the sequence, summed per module report for the statistics. Emission rows are
derived data (no history): recomputed, never edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection

from carbon.models import Emission
from infra.bulk import allocate_ids, copy_tuples

__all__ = ["EMISSION_COLUMNS", "emission_sums", "emissions_delete", "emissions_insert"]

# The columns of a row tuple given to `emissions_insert` (the id is added here).
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
    """COPY rows (tuples in EMISSION_COLUMNS order) with ids preallocated from the sequence."""
    if not rows:
        return 0
    ids = allocate_ids(Emission, len(rows))
    copy_tuples(_TABLE, [*EMISSION_COLUMNS, "id"], (row + (pk,) for row, pk in zip(rows, ids, strict=True)))
    return len(rows)


def emission_sums(module_report_ids: Iterable[int]) -> list[tuple]:
    """(module report id, emission type, Σ kg, Σ quantity) for these module reports, in one GROUP BY."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT module_report_id, emission_type, SUM(kg_co2eq), SUM(quantity) FROM {_TABLE} "
            "WHERE module_report_id = ANY(%s) GROUP BY module_report_id, emission_type", [list(module_report_ids)])
        return cursor.fetchall()
