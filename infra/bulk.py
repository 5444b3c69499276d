"""Bulk writes through PostgreSQL COPY, with history written the same way.

`bulk_create` runs at a fraction of COPY's speed on large files, and simple-history's bulk helper
is slower still, so imports and recalculations write with COPY: primary keys are taken from the
table's sequence first (so callers know the ids), then rows are streamed. History rows of tracked
models are COPYed too, carrying the acting user and the reason.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from operator import attrgetter

from django.db import connection, models
from django.utils import timezone

from infra.history import history_reason, history_user

__all__ = ["IdPool", "allocate_ids", "background_writes", "copy_history", "copy_insert", "copy_tuples", "delete_ids",
           "execute_bound", "foreign_keys_checked_per_statement", "history_from_ids"]


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys from the model's sequence."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, pk, count])
        return [row[0] for row in cursor.fetchall()]


class IdPool:
    """Primary keys reserved from a model's sequence a block at a time: a large import asks the server once per
    block instead of once per chunk (each ask waits for the COPYs still running on the connection). Keys left
    unused at the end are gaps in the sequence, as a rolled-back insert leaves."""

    def __init__(self, model: type[models.Model], block: int = 50_000):
        self.model, self.block = model, block
        self._free: list[int] = []

    def take(self, count: int) -> list[int]:
        if count > len(self._free):
            self._free.extend(allocate_ids(self.model, max(count - len(self._free), self.block)))
        taken, self._free = self._free[:count], self._free[count:]
        return taken


def _column_values(model: type[models.Model], fields: Sequence[models.Field]):
    """A function turning an object into its COPY row; only JSON columns need converting (FKs are
    read through their attname, so they are already ids)."""
    names = [f.attname for f in fields]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if not json_positions and len(names) > 1:
        return attrgetter(*names)  # a tuple of the values, read in C

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
    """COPY plain rows (values in `columns` order) into a table: the fastest path, no model objects.
    Inside `background_writes()` the rows are handed to its writer thread and this returns at once."""
    quote = connection.ops.quote_name
    if (stream := _STREAM.get()) is not None:
        stream.submit(_copy_job(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN",
                                list(rows)))
        return
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
            copy.write_row([*row(obj), when, reason or None, history_type, user_id])
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
    """Write history rows for rows in the table — just written, or about to be deleted — in one
    `INSERT … SELECT` (no row goes through Python). Inside `background_writes()` it is queued after the COPYs
    issued before it (the rows it copies)."""
    if not ids:
        return 0
    history_model = model.history.model
    tracked = {f.attname for f in history_model._meta.concrete_fields}
    columns = [f.column for f in model._meta.concrete_fields if f.attname in tracked]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    sql = (f"INSERT INTO {quote(history_model._meta.db_table)} ({column_list}, history_date, "
           f"history_change_reason, history_type, history_user_id) "
           f"SELECT {column_list}, %s::timestamptz, %s::varchar, %s::varchar, %s::bigint "
           f"FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = ANY(%s::bigint[])")
    params = [when or timezone.now(), history_reason(reason) or None, history_type,
              getattr(history_user(user), "pk", None), list(ids)]
    if (stream := _STREAM.get()) is not None:
        stream.submit(_execute_job(sql, params))
        return len(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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



# --- writes overlapped with the Python work that produces them -------------------------------------------------------

_STREAM: ContextVar[_WriterThread | None] = ContextVar("bulk_background_stream", default=None)


@contextmanager
def background_writes(depth: int = 3) -> Iterator[None]:
    """Run the COPYs (`copy_tuples`, `copy_insert`) and history INSERTs (`history_from_ids`) issued inside this
    block from a second thread, on the same connection and therefore in the caller's transaction, in the order
    they were issued. The caller's thread goes on parsing and computing the next chunk while PostgreSQL — a
    process on the other core — takes in the previous one: the import uses both cores without a second
    connection (which could not see the transaction's uncommitted rows). The connection's own lock serialises the
    two threads, so a query of the caller waits for the COPY in progress. At most `depth` jobs wait (bounded
    memory). The block ends when every job is done; the first error raised by a job is raised here (the caller's
    transaction then rolls back)."""
    if _STREAM.get() is not None:
        yield
        return
    connection.ensure_connection()
    writer = _WriterThread(connection.connection, depth)
    token = _STREAM.set(writer)
    try:
        yield
    except BaseException:
        _STREAM.reset(token)
        writer.stop()
        if writer.error is not None:  # the first failure explains what followed (a failed transaction)
            with connection.wrap_database_errors:
                raise writer.error from None
        raise
    _STREAM.reset(token)
    writer.finish()


class _WriterThread:
    def __init__(self, raw_connection, depth: int):
        self.raw = raw_connection
        self.jobs: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self.thread.start()

    def submit(self, job) -> None:
        self._raise()
        self.jobs.put(job)

    def finish(self) -> None:
        self.jobs.put(None)
        self.thread.join()
        self._raise()

    def stop(self) -> None:
        """On the caller's failure: drop the waiting jobs, let the running one end."""
        self.stopping = True
        while True:
            try:
                self.jobs.get_nowait()
            except queue.Empty:
                break
        self.jobs.put(None)
        self.thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            with connection.wrap_database_errors:
                raise self.error

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None and not self.stopping:
                try:
                    job(self.raw)
                except BaseException as exc:  # handed to the caller's thread
                    self.error = exc


def _copy_job(statement: str, rows: list):
    def run(raw) -> None:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return run


def _execute_job(sql: str, params: Sequence):
    import psycopg

    def run(raw) -> None:
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params)
    return run


@contextmanager
def foreign_keys_checked_per_statement(model: type[models.Model]) -> Iterator[None]:
    """Check the model table's foreign keys at the end of each statement instead of at commit (they are
    deferred by default). Same checks, same failure (the transaction rolls back); but under `background_writes`
    they then run in the writer thread, each COPY's with it, while the caller computes the next chunk — at
    commit they would run alone, after everything else. Restored to deferred afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = %s::regclass "
                       "AND contype = 'f' AND condeferrable", [model._meta.db_table])
        names = ", ".join(name for (name,) in cursor.fetchall())
        if not names:
            yield
            return
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield  # on an error the transaction is rolled back, and the setting with it
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")
