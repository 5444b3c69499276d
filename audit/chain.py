"""Tamper evidence of the audit trail: append-only tables and per-table hash chains, in PostgreSQL.

Every simple-history table and `audit_auditevent` ("tracked tables") gets two triggers:

- `audit_append_only` (BEFORE UPDATE OR DELETE, per row) refuses the change unless the transaction set
  `SET LOCAL audit.retention = 'on'`, which only `manage.py audit_retention` does (and only to delete).
- `audit_chain_append` (AFTER INSERT, per statement, with the inserted rows as a transition table, so a
  COPY of 100,000 rows costs one call) appends one `audit_chain` row per inserted row:
  `row_hash = sha256(prev_hash || json_strip_nulls(row_to_json(row))::text)`, where `prev_hash` is the
  previous `row_hash` of the same table's chain (the empty string for the first row). One chain per table,
  serialized by a transaction-level advisory lock keyed by the table, so concurrent inserts never fork it
  and writers of different tables never wait for each other.

Auth events (sign-in, sign-in failure, sign-out) are left out of the chain: their retention
(`AUDIT_AUTH_EVENT_RETENTION_DAYS`) deletes them, and a chain with holes could not be verified. They stay
append-only for the application.

`verify` recomputes every link in SQL, chunk by chunk, and returns the first broken one.
Triggers are installed by migration `audit.0002_audit_chain` and again after every `migrate`
(`post_migrate`), idempotently, so a history table added later by any app is covered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections, transaction

__all__ = ["AUTH_ACTIONS", "CHAIN_TABLE", "FUNCTIONS_SQL", "VerifyResult", "install_triggers", "retention_delete",
           "tracked_tables", "triggers_enabled", "verify"]

CHAIN_TABLE = "audit_chain"
AUTH_ACTIONS = ("signed_in", "sign_in_failed", "signed_out")
LOCK_CLASS = 727_011  # first key of the chain's advisory locks (the second one is hashtext(table name))
# The text of a row must not depend on the session: both the trigger and `verify` run with these settings.
SESSION_SETTINGS = {"TimeZone": "UTC", "IntervalStyle": "postgres", "extra_float_digits": "1",
                    "bytea_output": "hex"}
_FUNCTION_SETTINGS = " ".join(f"SET {name} = '{value}'" for name, value in SESSION_SETTINGS.items())

FUNCTIONS_SQL = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('audit.retention', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit: % on % refused: history and audit rows are append-only', TG_OP, TG_TABLE_NAME
        USING HINT = 'Only manage.py audit_retention may delete audit rows; an account with history '
                     'cannot be deleted, deactivate it instead.';
END $$;

CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql {_FUNCTION_SETTINGS} AS $$
DECLARE
    pk text := TG_ARGV[0];
    row_filter text := coalesce(nullif(TG_ARGV[1], ''), 'true');
    ids bigint[];
    contents bytea[];
    hashes bytea[];
    prevs bytea[];
    h bytea;
    n integer;
BEGIN
    EXECUTE format(
        'SELECT array_agg(n.%1$I ORDER BY n.%1$I), '
        'array_agg(convert_to(json_strip_nulls(row_to_json(n))::text, ''UTF8'') ORDER BY n.%1$I) '
        'FROM new_rows n WHERE %2$s', pk, row_filter) INTO ids, contents;
    n := coalesce(array_length(ids, 1), 0);
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_CLASS}, hashtext(TG_TABLE_NAME));
    SELECT c.row_hash INTO h FROM {CHAIN_TABLE} c WHERE c.table_name = TG_TABLE_NAME ORDER BY c.id DESC LIMIT 1;
    h := coalesce(h, '\\x'::bytea);
    FOR i IN 1..n LOOP
        prevs[i] := h;
        h := sha256(h || contents[i]);
        hashes[i] := h;
    END LOOP;
    INSERT INTO {CHAIN_TABLE} (table_name, row_id, row_hash, prev_hash, created_at)
        SELECT TG_TABLE_NAME, u.row_id, u.row_hash, u.prev_hash, now()
        FROM unnest(ids, hashes, prevs) WITH ORDINALITY AS u(row_id, row_hash, prev_hash, position)
        ORDER BY u.position;
    RETURN NULL;
END $$;
"""

DROP_FUNCTIONS_SQL = "DROP FUNCTION IF EXISTS audit_chain_append() CASCADE; " \
                     "DROP FUNCTION IF EXISTS audit_refuse_change() CASCADE;"


@dataclass(frozen=True)
class Tracked:
    table: str
    pk: str
    row_filter: str = ""  # SQL over the table's columns: rows that are chained (empty: all)


def tracked_tables() -> list[Tracked]:
    """Every simple-history table of the installed apps, and the audit events (auth events unchained)."""
    from simple_history.models import HistoricalChanges

    tables = sorted(
        (Tracked(m._meta.db_table, m._meta.pk.column) for m in apps.get_models()
         if issubclass(m, HistoricalChanges) and m._meta.managed and not m._meta.proxy),
        key=lambda t: t.table,
    )
    auth = ", ".join(f"'{action}'" for action in AUTH_ACTIONS)
    return [*tables, Tracked("audit_auditevent", "id", f"action NOT IN ({auth})")]


def _existing(cursor, tables: list[Tracked]) -> list[Tracked]:
    cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s) "
                   "AND relnamespace = current_schema()::regnamespace", [[t.table for t in tables]])
    present = {row[0] for row in cursor.fetchall()}
    return [t for t in tables if t.table in present]


def install_triggers(using: str = "default") -> int:
    """(Re)install the functions, both triggers on every tracked table that exists, and the chain's own
    append-only trigger. Idempotent."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [CHAIN_TABLE])
        if cursor.fetchone()[0] is None:
            return 0  # migrated back below audit.0002
        cursor.execute(FUNCTIONS_SQL)  # the functions of this release, as `verify` expects them
        quote = connection.ops.quote_name
        tables = _existing(cursor, tracked_tables())
        for t in tables:
            name = quote(t.table)
            cursor.execute(
                f"DROP TRIGGER IF EXISTS audit_chain_append ON {name}; "
                f"CREATE TRIGGER audit_chain_append AFTER INSERT ON {name} REFERENCING NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append(%s, %s); "
                f"DROP TRIGGER IF EXISTS audit_append_only ON {name}; "
                f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {name} "
                f"FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
                [t.pk, t.row_filter],
            )
        cursor.execute(
            f"DROP TRIGGER IF EXISTS audit_append_only ON {CHAIN_TABLE}; "
            f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {CHAIN_TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();"
        )
        return len(tables)


def triggers_enabled(enabled: bool, using: str = "default") -> None:
    """Enable or disable the chain trigger on every tracked table (the benchmark's baseline only)."""
    connection = connections[using]
    action = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        for t in _existing(cursor, tracked_tables()):
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(t.table)} {action} TRIGGER audit_chain_append")


def retention_delete(*, older_than_days: int, using: str = "default") -> int:
    """Delete auth events older than `older_than_days`: the one documented deletion of audit rows."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SET LOCAL audit.retention = 'on'")
        cursor.execute("DELETE FROM audit_auditevent WHERE action = ANY(%s) "
                       "AND occurred_at < now() - make_interval(days => %s)", [list(AUTH_ACTIONS), older_than_days])
        deleted = cursor.rowcount
        cursor.execute("SET LOCAL audit.retention = 'off'")
        return deleted


@dataclass
class Broken:
    table: str
    row_id: int
    chain_id: int
    problem: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id} (chain link {self.chain_id}): {self.problem}"


@dataclass
class VerifyResult:
    rows: int = 0
    tables: int = 0
    seconds: float = 0.0
    broken: Broken | None = None
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.broken is None


_FIRST_BAD = """
WITH c AS (
    SELECT id, row_id, row_hash, prev_hash,
           coalesce(lag(row_hash) OVER (ORDER BY id), %(carry)s) AS expected_prev
    FROM (SELECT id, row_id, row_hash, prev_hash FROM {chain}
          WHERE table_name = %(table)s AND id > %(after)s ORDER BY id LIMIT %(size)s) s
)
SELECT c.id, c.row_id, t.{pk} IS NULL, c.prev_hash <> c.expected_prev,
       sha256(c.prev_hash || convert_to(json_strip_nulls(row_to_json(t))::text, 'UTF8')) <> c.row_hash
FROM c LEFT JOIN {table} t ON t.{pk} = c.row_id
WHERE t.{pk} IS NULL OR c.prev_hash <> c.expected_prev
   OR sha256(c.prev_hash || convert_to(json_strip_nulls(row_to_json(t))::text, 'UTF8')) <> c.row_hash
ORDER BY c.id LIMIT 1
"""

_CHUNK_END = """
SELECT count(*), max(id), (array_agg(row_hash ORDER BY id DESC))[1]
FROM (SELECT id, row_hash FROM {chain} WHERE table_name = %(table)s AND id > %(after)s ORDER BY id LIMIT %(size)s) s
"""

# Rows written after the table's chain began. When their number equals the links walked (every link's row
# exists, checked above), none lacks a link; otherwise the first one without a link is looked for, with a
# hash anti-join (a nested loop over the chain index would be quadratic).
_CHAINABLE = """
SELECT count(*) FROM {table} t
WHERE t.{pk} >= (SELECT min(row_id) FROM {chain} WHERE table_name = %(table)s) AND ({row_filter})
"""
_UNCHAINED = """
SELECT t.{pk} FROM {table} t
LEFT JOIN (SELECT DISTINCT row_id FROM {chain} WHERE table_name = %(table)s) c ON c.row_id = t.{pk}
WHERE c.row_id IS NULL AND ({row_filter})
  AND t.{pk} >= (SELECT min(row_id) FROM {chain} WHERE table_name = %(table)s)
ORDER BY t.{pk} LIMIT 1
"""


def verify(*, chunk: int = 50_000, using: str = "default") -> VerifyResult:
    """Walk every table's chain in order; stop at the first broken link."""
    started = time.perf_counter()
    result = VerifyResult()
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for name, value in SESSION_SETTINGS.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        cursor.execute(f"SELECT DISTINCT table_name FROM {CHAIN_TABLE}")
        chained = {row[0] for row in cursor.fetchall()}
        tracked = {t.table: t for t in _existing(cursor, tracked_tables())}
        for table in sorted(chained - set(tracked)):
            result.broken = Broken(table, 0, 0, "chain links for a table that is no longer tracked or was dropped")
            break
        for t in sorted(tracked.values(), key=lambda t: t.table):
            if result.broken:
                break
            if t.table not in chained:
                continue
            result.tables += 1
            params = {"table": t.table, "after": 0, "carry": b"", "size": chunk}
            sql = {key: text.format(chain=CHAIN_TABLE, table=quote(t.table), pk=quote(t.pk),
                                    row_filter=t.row_filter or "true")
                   for key, text in (("bad", _FIRST_BAD), ("end", _CHUNK_END), ("chainable", _CHAINABLE),
                                                  ("unchained", _UNCHAINED))}
            walked = 0
            while True:
                cursor.execute(sql["bad"], params)
                bad = cursor.fetchone()
                if bad:
                    chain_id, row_id, missing, gap, changed = bad
                    problem = ("row missing (deleted)" if missing else
                               "chain gap (a link was removed or reordered)" if gap else
                               "content changed since it was written")
                    result.broken = Broken(t.table, row_id, chain_id, problem)
                    break
                cursor.execute(sql["end"], params)
                count, last_id, last_hash = cursor.fetchone()
                if not count:
                    break
                result.rows += count
                walked += count
                params.update(after=last_id, carry=bytes(last_hash))
            if result.broken:
                break
            result.heads[t.table] = params["carry"].hex()
            cursor.execute(sql["chainable"], params)
            if cursor.fetchone()[0] == walked:
                continue
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(sql["unchained"], params)
            row = cursor.fetchone()
            cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
            if row:
                result.broken = Broken(t.table, row[0], 0, "row has no chain link (written with the trigger off)")
    result.seconds = time.perf_counter() - started
    return result
