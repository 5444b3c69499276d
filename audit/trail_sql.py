"""The SQL of one trail page: per table a keyset read on its date index, all under `UNION ALL`.

Written as SQL text rather than through the ORM because a page reads every history table (44 today): the
ORM spent ≈ 50 ms building and compiling the parts of one page, PostgreSQL ≈ 7 ms running them
(docs/performance.md, "Audit trail"). The text depends only on the filters' *shape* (which are set, global or
scoped, which side of the cursor a table falls); the values travel as parameters. Run with server-side
binding, so psycopg prepares a shape after a few executions and PostgreSQL stops re-planning it.

Everything is derived from the models' metadata (tables, columns, the unit path of `trail.classify`): a new
history model joins without a line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

__all__ = ["TablePlan", "event_part", "history_part", "page_sql", "table_plan"]


@dataclass(frozen=True)
class TablePlan:
    table: str
    pk_column: str
    label_column: str | None
    unit_sql: str | None  # SQL giving the row's unit id from alias h, or None (global, users)


def _unit_sql(model, path: str) -> str | None:
    """`h.unit_id`, or a scalar subquery walking the foreign keys of `path` ("module_report__report__unit")."""
    if path == "":
        return 'h."id"'
    parts = path.split("__")
    model_fields = {f.name: f for f in model._meta.concrete_fields}
    first = model_fields[parts[0]]
    if len(parts) == 1:
        return f'h."{first.column}"'
    # Walk: h.<fk1> → table1.<fk2> → … → last table's unit column.
    joins, current, alias = [], first.related_model, "j0"
    joins.append((current._meta.db_table, alias, f'{alias}."id" = h."{first.column}"'))
    for index, name in enumerate(parts[1:-1], start=1):
        field = current._meta.get_field(name)
        next_alias = f"j{index}"
        joins.append((field.related_model._meta.db_table, next_alias, f'{next_alias}."id" = {alias}."{field.column}"'))
        current, alias = field.related_model, next_alias
    unit_column = current._meta.get_field(parts[-1]).column
    first_table, first_alias, first_on = joins[0]
    text = f'(SELECT {alias}."{unit_column}" FROM "{first_table}" {first_alias}'
    for table, join_alias, on in joins[1:]:
        text += f' JOIN "{table}" {join_alias} ON {on}'
    return text + f" WHERE {first_on})"


@cache
def table_plan(history_model) -> TablePlan:
    from audit.trail import GLOBAL, USERS, classify, label_field

    base = history_model.instance_type
    path = classify(history_model)
    label = label_field(base)
    return TablePlan(
        table=history_model._meta.db_table,
        pk_column=base._meta.pk.column,
        label_column=history_model._meta.get_field(label).column if label else None,
        unit_sql=None if path in (GLOBAL, USERS) else _unit_sql(history_model, path),
    )


def _keyset(date: str, pk: str, table: str, after, newer: bool) -> str:
    """The keyset condition in the (when, table, id) order; `after` = (when, table, id) or None."""
    if after is None:
        return "TRUE"
    cursor_table = after[1]
    if newer:
        if table < cursor_table:
            return f"{date} > %(k_when)s"
        if table > cursor_table:
            return f"{date} >= %(k_when)s"
        return f"({date} > %(k_when)s OR ({date} = %(k_when)s AND {pk} > %(k_id)s))"
    if table < cursor_table:
        return f"{date} <= %(k_when)s"
    if table > cursor_table:
        return f"{date} < %(k_when)s"
    return f"({date} < %(k_when)s OR ({date} = %(k_when)s AND {pk} < %(k_id)s))"


def history_part(plan: TablePlan, shape: dict, after, newer: bool) -> str:
    """One table's read; `shape` says which filters are set (their values are the page's parameters)."""
    where = [_keyset('h."history_date"', 'h."history_id"', plan.table, after, newer)]
    if shape["scoped"]:
        where.append(f"{plan.unit_sql} = ANY(%(scope_units)s)")
    if shape["unit"]:
        where.append(f"{plan.unit_sql} = ANY(%(unit_ids)s)")
    if shape["user"]:
        where.append('h."history_user_id" = %(user_id)s')
    if shape["date_from"]:
        where.append('h."history_date" >= %(date_from)s')
    if shape["date_to"]:
        where.append('h."history_date" < %(date_to)s')
    if shape["action"]:
        where.append('h."history_type" = %(history_type)s')
    for index, negate in enumerate(shape["source_patterns"]):
        where.append(f'{"NOT " if negate else ""}coalesce(h."history_change_reason", \'\') ~ %(source_{index})s')
    if shape["text"]:
        label = f' OR h."{plan.label_column}"::text ILIKE %(text)s' if plan.label_column else ""
        where.append(f'(h."history_change_reason" ILIKE %(text)s{label})')
    order = "ASC" if newer else "DESC"
    unit = plan.unit_sql or "NULL"
    label = f'h."{plan.label_column}"::text' if plan.label_column else "''"
    return (f'(SELECT h."history_date" AS t_when, \'{plan.table}\'::text AS t_table, h."history_id"::bigint AS t_id, '
            f'h."history_type"::text AS t_type, h."history_user_id"::bigint AS t_user, '
            f'h."history_change_reason"::text AS t_reason, h."{plan.pk_column}"::text AS t_object, '
            f"({unit})::bigint AS t_unit, {label} AS t_label, ''::text AS t_source, ''::text AS t_actor "
            f'FROM "{plan.table}" h WHERE {" AND ".join(where)} '
            f'ORDER BY h."history_date" {order}, h."history_id" {order} LIMIT %(limit)s)')


def event_part(table: str, shape: dict, after, newer: bool) -> str:
    where = [_keyset('e."occurred_at"', 'e."id"', table, after, newer)]
    if shape["scoped"]:
        where.append('e."unit_id" = ANY(%(scope_units)s)')
    if shape["unit"]:
        where.append('e."unit_id" = ANY(%(unit_ids)s)')
    if shape["object_type"]:
        where.append('e."object_type" = %(object_type)s')
    if shape["user"]:
        where.append('e."actor_id" = %(user_id)s')
    if shape["date_from"]:
        where.append('e."occurred_at" >= %(date_from)s')
    if shape["date_to"]:
        where.append('e."occurred_at" < %(date_to)s')
    if shape["action"]:
        where.append('e."action" = %(action)s')
    if shape["source"]:
        where.append('e."source" = %(source)s')
    if shape["text"]:
        where.append('(e."actor_label" ILIKE %(text)s OR e."object_id" ILIKE %(text)s OR e."object_type" ILIKE %(text)s'
                     ' OR e."details"::text ILIKE %(text)s)')
    order = "ASC" if newer else "DESC"
    return (f'(SELECT e."occurred_at" AS t_when, \'{table}\'::text AS t_table, e."id"::bigint AS t_id, '
            f'e."action"::text AS t_type, e."actor_id"::bigint AS t_user, e."details"::text AS t_reason, '
            f'e."object_id"::text AS t_object, e."unit_id"::bigint AS t_unit, e."object_type"::text AS t_label, '
            f'e."source"::text AS t_source, e."actor_label"::text AS t_actor '
            f'FROM "{table}" e WHERE {" AND ".join(where)} ORDER BY e."occurred_at" {order}, e."id" {order} '
            f"LIMIT %(limit)s)")


def page_sql(parts: list[str], newer: bool) -> str:
    """The page: the parts' rows in (when, table, id) order — table names compared bytewise, as Python does."""
    order = "ASC" if newer else "DESC"
    text = " UNION ALL ".join(parts)
    return (f'SELECT * FROM ({text}) t ORDER BY t.t_when {order}, t.t_table COLLATE "C" {order}, '
            f"t.t_id {order} LIMIT %(limit)s")
