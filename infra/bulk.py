"""Bulk writes through PostgreSQL COPY, with history written the same way.

`bulk_create` runs at a fraction of COPY's speed on large files, and simple-history's bulk helper
is slower still, so imports and recalculations write with COPY: primary keys are taken from the
table's sequence first (so callers know the ids), then rows are streamed. History rows of tracked
models are COPYed too, carrying the acting user and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, models
from django.utils import timezone

from infra.history import history_reason, history_user

__all__ = ["allocate_ids", "copy_history", "copy_insert", "copy_tuples", "delete_ids", "execute_bound",
           "history_from_ids"]


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys from the model's sequence."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, pk, count])
        return [row[0] for row in cursor.fetchall()]


def _column_values(model: type[models.Model], fields: Sequence[models.Field]):
    """A function turning an object into its COPY row; only JSON columns need converting (FKs are
    read through their attname, so they are already ids)."""
    names = [f.attname for f in fields]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]

    def row(obj) -> list:
        values = [getattr(obj, name) for name in names]
        for i in json_positions:
            if values[i] is not None:
                values[i] = json.dumps(values[i], default=str)
        return values

    return row


def copy_insert(model: type[models.Model], objs: Sequence[models.Model], *, assign_ids: bool = True) -> None:
    """COPY `objs` into the model's table. Auto fields (`auto_now`) must be set by the caller."""
    if not objs:
        return
    if assign_ids:
        for obj, pk in zip(objs, allocate_ids(model, len(objs)), strict=True):
            obj.pk = pk
    fields = list(model._meta.concrete_fields)
    copy_tuples(model._meta.db_table, [f.column for f in fields], map(_column_values(model, fields), objs))


def copy_tuples(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY plain rows (values in `columns` order) into a table: the fastest path, no model objects."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def copy_history(model: type[models.Model], objs: Iterable[models.Model], *, history_type: str, user=None,
                 reason: str = "", when: datetime | None = None) -> int:
    """Write one simple-history row per object ('+' created, '~' changed, '-' deleted) with COPY."""
    history_model = model.history.model
    when = when or timezone.now()
    tracked = {f.attname for f in history_model._meta.concrete_fields}
    source_fields = [f for f in model._meta.concrete_fields if f.attname in tracked]
    row = _column_values(model, source_fields)
    extra_columns = ["history_date", "history_change_reason", "history_type", "history_user_id"]
    columns = [f.column for f in source_fields] + extra_columns
    user_id = getattr(history_user(user), "pk", None)
    reason = history_reason(reason)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {connection.ops.quote_name(history_model._meta.db_table)} ({quoted}) FROM STDIN"
    ) as copy:
        for obj in objs:
            copy.write_row(row(obj) + [when, reason or None, history_type, user_id])
            count += 1
    return count


def delete_ids(model: type[models.Model], ids: Sequence[int]) -> int:
    """Delete by primary key in one statement (no per-row signals; callers write history)."""
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE "
                       f"{connection.ops.quote_name(model._meta.pk.column)} = ANY(%s)", [list(ids)])
        return cursor.rowcount


def history_from_ids(model: type[models.Model], ids: Sequence[int], *, history_type: str, user=None,
                     reason: str = "", when: datetime | None = None) -> int:
    """Write history rows for rows still in the table (e.g. before deleting them), in SQL."""
    if not ids:
        return 0
    history_model = model.history.model
    tracked = {f.attname for f in history_model._meta.concrete_fields}
    columns = [f.column for f in model._meta.concrete_fields if f.attname in tracked]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    sql = (f"INSERT INTO {quote(history_model._meta.db_table)} ({column_list}, history_date, "
           f"history_change_reason, history_type, history_user_id) "
           f"SELECT {column_list}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
           f"WHERE {quote(model._meta.pk.column)} = ANY(%s)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [when or timezone.now(), history_reason(reason) or None, history_type,
                             getattr(history_user(user), "pk", None),
                             list(ids)])
        return cursor.rowcount


def execute_bound(sql: str, params: Sequence) -> list[tuple]:
    """Run one statement with its parameters sent apart from the text (server-side binding), on Django's
    connection and in its transaction; returns the rows it gives (none for a write). For statements that take
    large arrays: Django's cursor interpolates parameters into the SQL text, which quotes every array element
    in Python; `%b` placeholders here send an array in binary, with no per-element work at all."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

