"""The emission engine: entries → leaf emission rows → entry totals → module and report statistics.

Everything works on batches (a chunk of entries of one kind), so the same code serves a single
form save, a 500,000-row import and a full-year recalculation.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from carbon import taxonomy
from carbon.emissions import emission_sums, emissions_insert, emissions_replace
from carbon.emissions import emissions_delete as emission_rows_delete
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus, RecalculationState
from carbon.taxonomy import Module
from infra.bulk import copy_history, execute_bound
from modules.base import Entry, Leaf
from modules.registry import KINDS, ComputeContext, EntryKindSpec, SetLeaf, dependants_of, kinds_of_module

__all__ = ["entries_recompute", "emissions_delete", "module_reports_touched", "recalculate", "stats_refresh"]

CHUNK = 10000


def compute_leaves(spec: EntryKindSpec, entries: Sequence[Entry], ctx: ComputeContext) -> dict[int, list[Leaf]]:
    """Leaves of each entry; an override gives exactly one leaf with its value and no factor."""
    computed = [e for e in entries if e.kg_co2eq_override is None]
    leaves = spec.compute(computed, ctx) if computed else {}
    for entry in entries:
        if entry.kg_co2eq_override is not None:
            leaf_type = spec.override_leaf(entry) if spec.override_leaf else None
            leaves[entry.pk] = [] if leaf_type is None else [
                Leaf(emission_type=leaf_type, kg_co2eq=Decimal(entry.kg_co2eq_override), is_override=True)]
    return leaves


def emissions_delete(spec: EntryKindSpec, entry_ids: Sequence[int]) -> None:
    emission_rows_delete([k.value for k in spec.kinds], entry_ids)


def entries_recompute(spec: EntryKindSpec, entries: Sequence[Entry], ctx: ComputeContext, *,
                      fresh: bool = False) -> int:
    """Recompute and store the emissions and totals of a batch of entries. Returns rows written.

    `fresh=True` is for entries about to be inserted (ids already allocated): no old rows to delete,
    and the totals are left on the objects for the caller's COPY instead of an UPDATE.
    """
    if not entries:
        return 0
    leaves = compute_leaves(spec, entries, ctx)
    # Cached for the computation: a module report's unit and year never change (and a query would wait for the
    # import's writes still running on the connection).
    reports = ctx.memo("module_report_index", dict)
    if missing := {e.module_report_id for e in entries} - reports.keys():
        reports.update(_module_report_index(missing))
    now = timezone.now()
    module = spec.module.value
    rows: list[tuple] = []
    totals: dict[int, Decimal | None] = {}
    json_of: dict[int, str] = {}  # a factor's values are one dict shared by its leaves: one JSON text each
    for entry in entries:
        entry_leaves = leaves.get(entry.pk, [])
        unit_id, year = reports[entry.module_report_id]
        kind = spec.entry_kind(entry).value if entry_leaves else None
        total = None
        for leaf in entry_leaves:
            if leaf.emission_type not in spec.leaf_ids:  # a kind's code and its declared roots disagree
                raise ValueError(f"{spec.name} entry {entry.pk} computed leaf {leaf.emission_type}, outside its "
                                 f"emission_roots {spec.emission_roots}")
            kg = _kg(leaf.kg_co2eq)
            total = kg if total is None else total + kg
            rows.append((entry.module_report_id, unit_id, year, module, leaf.kind or kind, entry.pk,
                         leaf.emission_type, _scope(leaf.emission_type), kg,
                         None if leaf.quantity is None else _kg(leaf.quantity), leaf.quantity_unit,
                         None if leaf.is_override else leaf.factor_id,
                         json_of.get(id(leaf.factor_values)) or json_of.setdefault(id(leaf.factor_values),
                                                                                    _json(leaf.factor_values)),
                         leaf.is_override, now))
        totals[entry.pk] = total
    if fresh:
        emissions_insert(rows)
    else:  # rows found again are updated in place; only rows that appear or disappear are inserted or deleted
        emissions_replace([k.value for k in spec.kinds], [e.pk for e in entries], rows)
    if not fresh:
        _store_totals(spec, totals)
    for entry in entries:
        entry.kg_co2eq = totals[entry.pk]
    return len(rows)


_QUANTUM = Decimal("0.000001")


@cache
def _scope(emission_type: int) -> int:
    return taxonomy.scope_of(emission_type)


def _json(values: dict) -> str:
    return json.dumps(values, default=str) if values else "{}"


def _kg(value) -> Decimal:
    return (value if isinstance(value, Decimal) else Decimal(value)).quantize(_QUANTUM)


def _module_report_index(ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    return {pk: (unit_id, year) for pk, unit_id, year in
            ModuleReport.objects.filter(pk__in=list(ids)).values_list("pk", "report__unit_id", "report__year_id")}


def _store_totals(spec: EntryKindSpec, totals: dict[int, Decimal | None]) -> None:
    """One UPDATE … FROM unnest() for the whole batch (derived value: no history)."""
    if not totals:
        return
    table = connection.ops.quote_name(spec.model._meta.db_table)
    execute_bound(f"UPDATE {table} AS t SET kg_co2eq = v.kg FROM unnest(%b::bigint[], %b::numeric[]) AS v(id, kg) "
                  f"WHERE t.id = v.id", [list(totals), [totals[k] for k in totals]])


def recalculate(spec: EntryKindSpec, *, year: int, progress=None, refresh_stats: bool = True,
                touched: set[int] | None = None, actor=None) -> int:
    """Recompute every entry of a kind for a year (after a factor change). Does not un-validate.

    In a pipeline the statistics are the aggregation job's: pass `refresh_stats=False` and a
    `touched` set to collect the module reports to refresh.
    """
    ctx = ComputeContext(year=year)
    module_report_ids = list(ModuleReport.objects.filter(report__year_id=year, module=spec.module.value)
                             .values_list("pk", flat=True))
    counted = _recalculate_set_based(spec, year, module_report_ids, ctx) if spec.set_based else None
    module_reports: set[int] = set()
    done = 0
    if counted is not None:
        by_module_report, residue = counted
        module_reports, done = set(by_module_report), sum(by_module_report.values())
        if progress:
            progress(done)
        # The entries the statement left to `compute` (keys it does not plan, data it cannot trust).
        chunks = (list(spec.model.objects.filter(pk__in=residue[i:i + CHUNK]).order_by("pk")
                       .defer("created_at", "updated_at")) for i in range(0, len(residue), CHUNK))
    else:
        chunks = _chunks(spec.model.objects.filter(module_report_id__in=module_report_ids).order_by("pk")
                         .defer("created_at", "updated_at"))
    for chunk in chunks:
        with transaction.atomic():
            entries_recompute(spec, chunk, ctx)
        module_reports.update(e.module_report_id for e in chunk)
        done += len(chunk)
        if progress:
            progress(done)
    return _recalculated(spec, year=year, done=done, module_reports=module_reports, refresh_stats=refresh_stats,
                         touched=touched, actor=actor)


def _chunks(queryset):
    """The queryset's entries, CHUNK at a time, by primary key (keyset pagination: no OFFSET)."""
    last_pk = 0
    while chunk := list(queryset.filter(pk__gt=last_pk)[:CHUNK]):
        yield chunk
        last_pk = chunk[-1].pk


def _recalculated(spec: EntryKindSpec, *, year: int, done: int, module_reports: set[int], refresh_stats: bool,
                  touched: set[int] | None, actor) -> int:
    """After a kind's recalculation: statistics (or the pipeline's `touched`), the trail, the dependants."""
    if touched is not None:
        touched.update(module_reports)
    if refresh_stats:
        stats_refresh(module_reports)
    RecalculationState.recalculated(year=year, kind=spec.name, entries=done, actor=actor)
    dependants_recompute([spec.name], year=year, refresh_stats=refresh_stats, touched=touched, actor=actor)
    return done


def _round_half_even(sql: str) -> str:
    """`Decimal.quantize(0.000001)` in SQL: PostgreSQL's round() takes halves away from zero, the engine's
    Decimal context to the even neighbour (x·10⁶ = n + ½ exactly → 2·round(x·10⁶/2))."""
    scaled = f"(({sql}) * 1000000)"
    return (f"(CASE WHEN {scaled} - trunc({scaled}) IN (0.5, -0.5) THEN 2 * round({scaled} / 2) / 1000000 "
            f"ELSE round({sql}, 6) END)::numeric(20, 6)")


SET_BASED_WORK_MEM = "128MB"  # the set-based statement's work_mem (SET LOCAL: its transaction only)
SET_BASED_HASH_FROM = 10000  # entries from which the statement joins by hash only
_NULL_KEY = "\x01"  # a NULL key column, so that the entries join their plans by plain (hashable) equality


class _Plan(NamedTuple):
    """One row of the plans the set-based statement joins the entries to."""

    key: tuple[str, ...]  # the entry's key columns as text
    ordinal: int  # the leaf's rank within its key (0: the row an override uses)
    leaf: SetLeaf | None  # None: no emission when computed (or a key left to `compute`)
    override_leaf: int | None
    kind: int | None  # the entry kind of the key's entries
    python: bool  # left to `compute`


def _set_plans(spec: EntryKindSpec, table: str, module_report_ids: list[int],
               ctx: ComputeContext) -> tuple[list[_Plan], int]:
    """One row per (distinct key of the entries, leaf): what the set-based statement joins the entries to, and
    how many entries there are.

    The choice is Python's: the kind's `leaves` and the spec's `entry_kind` / `override_leaf` on an unsaved
    entry holding the key. A key whose planning fails (or that `leaves` declines) is left to `compute`."""
    fields = [spec.model._meta.get_field(name) for name in spec.set_based.keys]
    if fields:
        columns = ", ".join(f"COALESCE(e.{connection.ops.quote_name(f.column)}::text, %s)" for f in fields)
        counted = execute_bound(f"SELECT {columns}, count(*) FROM {table} AS e WHERE e.module_report_id = ANY(%s) "
                                f"GROUP BY {', '.join(str(i + 1) for i in range(len(fields)))}",
                                [_NULL_KEY] * len(fields) + [module_report_ids])
    else:
        counted = execute_bound(f"SELECT count(*) FROM {table} WHERE module_report_id = ANY(%s)", [module_report_ids])
    keys, entries = [tuple(row[:-1]) for row in counted], sum(row[-1] for row in counted)
    plans = []
    for key in keys:
        entry = spec.model(**{f.attname: None if text == _NULL_KEY else f.to_python(text)
                              for f, text in zip(fields, key, strict=True)})
        try:
            kind = spec.entry_kind(entry).value
            override_leaf = spec.override_leaf(entry) if spec.override_leaf else None
            leaves = spec.set_based.leaves(entry, ctx)
        except Exception:  # noqa: BLE001 - the Python path computes (or reports) these entries
            leaves = None
        if leaves is None:
            plans.append(_Plan(tuple(key), 0, None, None, None, True))
            continue
        if len(leaves) > 1 and any(leaf.divisor != 1 for leaf in leaves):
            raise ValueError(f"{spec.name} key {key}: a divisor is for plans of one leaf")
        for leaf_type in [override_leaf, *(leaf.emission_type for leaf in leaves)]:
            if leaf_type is not None and leaf_type not in spec.leaf_ids:  # as entries_recompute refuses it
                raise ValueError(f"{spec.name} key {key} planned leaf {leaf_type}, outside its emission_roots "
                                 f"{spec.emission_roots}")
        plans.extend(_Plan(tuple(key), ordinal, leaf, override_leaf, kind, False)
                     for ordinal, leaf in enumerate(leaves or [None]))
    return plans, entries


def _recalculate_set_based(spec: EntryKindSpec, year: int, module_report_ids: list[int],
                           ctx: ComputeContext) -> tuple[dict[int, int], list[int]] | None:
    """Recompute a product kind (registry `set_based`) in one statement: the emission rows found again (entry,
    kind, leaf) updated in place, rows that appear inserted, rows that disappear deleted, the entries' totals
    written where they changed. Same values as `compute` + `entries_recompute`.

    Returns ({module report: entries done}, ids of the entries left to `compute`), or None (nothing written)
    when an entry's key was not planned (entries changed meanwhile): the caller then takes the Python path.
    """
    plan = spec.set_based
    quote = connection.ops.quote_name
    entries, emissions = quote(spec.model._meta.db_table), quote(Emission._meta.db_table)
    planned, count = _set_plans(spec, entries, module_report_ids, ctx)
    width = len(plan.keys)
    leaves = [p.leaf for p in planned]
    n_params = max([len(leaf.params) for leaf in leaves if leaf]
                   + [int(n) + 1 for n in re.findall(r"\bk\.p(\d+)\b", plan.amount)], default=0)
    # A key with two leaves of one type (headcount factors sharing a leaf): rows are matched by rank, as
    # emissions_replace pairs them in id order.
    typed = [(p.key, p.leaf.kind or p.kind, p.leaf.emission_type) for p in planned if p.leaf]
    several = len(set(typed)) < len(typed)
    key_arrays = [[p.key[i] for p in planned] for i in range(width)]
    columns = {
        "ord": ("int", [p.ordinal for p in planned]),
        "kind": ("int", [(p.leaf.kind if p.leaf else None) or p.kind for p in planned]),
        "okind": ("int", [p.kind for p in planned]),
        "oleaf": ("int", [p.override_leaf for p in planned]),
        "oscope": ("smallint", [None if p.override_leaf is None else _scope(p.override_leaf) for p in planned]),
        "leaf": ("int", [leaf and leaf.emission_type for leaf in leaves]),
        "scope": ("smallint", [leaf and _scope(leaf.emission_type) for leaf in leaves]),
        "factor_id": ("bigint", [leaf and leaf.factor_id for leaf in leaves]),
        "factor_values": ("text", [leaf and _json(leaf.factor_values) for leaf in leaves]),
        **{f"p{i}": ("numeric", [leaf.params[i] if leaf and i < len(leaf.params) else None for leaf in leaves])
           for i in range(n_params)},
        "mult": ("numeric", [leaf and leaf.multiplier for leaf in leaves]),
        "div": ("numeric", [leaf.divisor if leaf else Decimal(1) for leaf in leaves]),
        "qmult": ("numeric", [leaf and leaf.quantity_multiplier for leaf in leaves]),
        "qunit": ("text", [leaf.quantity_unit if leaf else "" for leaf in leaves]),
        "py": ("boolean", [p.python for p in planned]),
    }
    key_names = [f"k{i}" for i in range(width)]
    fields = [spec.model._meta.get_field(name) for name in plan.keys]
    on = " AND ".join(f"k.k{i} = COALESCE(e.{quote(f.column)}::text, %s)" for i, f in enumerate(fields)) or "true"
    units = dict(ModuleReport.objects.filter(pk__in=module_report_ids).values_list("pk", "report__unit_id"))
    override = "e.kg_co2eq_override IS NOT NULL"
    amount = f"({plan.amount})"
    python_when = f" OR COALESCE(({plan.python_when}), false)" if plan.python_when else ""
    kg = _round_half_even(f"{amount} * k.mult")
    if any(leaf and leaf.divisor != 1 for leaf in leaves):
        quotient = f"(round({amount} * k.mult, 40) / k.div)"
        kg = f"CASE WHEN k.div = 1 THEN {kg} ELSE round({quotient}, 6)::numeric(20, 6) END"
        # Python's Decimal rounds each step to 28 significant digits (≤ 1e-18 kg off below 10⁹ kg): only a
        # quotient that close to a half-milligram could round otherwise than here; `compute` takes it.
        python_when += (f" OR COALESCE(k.div <> 1 AND abs({quotient} * 1000000 - trunc({quotient} * 1000000) "
                        f"- 0.5) < 0.000000001, false)")
    rank = ", row_number() OVER (PARTITION BY {0}entry_id, {0}kind, {0}{1} ORDER BY {0}{2}) AS rn"
    cur_rank, new_rank = (rank.format("em.", "emission_type", "id"), rank.format("", "leaf", "ord")) if several \
        else ("", "")
    sql = f"""
    WITH k AS MATERIALIZED (  -- a few rows: the factor values parsed once per plan, not per entry
        SELECT {", ".join(f"k.{c}" for c in [*key_names, *columns] if c != "factor_values")},
               k.factor_values::jsonb AS factor_values
        FROM unnest({", ".join(["%s::text[]"] * width + [f"%s::{t}[]" for t, _ in columns.values()])})
             AS k({", ".join([*key_names, *columns])})),
    units AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, unit_id)),
    src AS MATERIALIZED (
        SELECT e.id AS entry_id, e.module_report_id, u.unit_id, k.ord, (k.py{python_when}) AS py,
               CASE WHEN {override} THEN CASE WHEN k.ord = 0 THEN k.oleaf END
                    WHEN {amount} IS NOT NULL THEN k.leaf END AS leaf,
               CASE WHEN {override} THEN k.oscope ELSE k.scope END AS scope,
               CASE WHEN {override} THEN k.okind ELSE k.kind END AS kind,
               CASE WHEN {override} THEN e.kg_co2eq_override ELSE {kg} END AS kg,
               CASE WHEN {override} THEN NULL ELSE {_round_half_even(f"{amount} * k.qmult")} END AS quantity,
               CASE WHEN {override} THEN '' ELSE k.qunit END AS quantity_unit,
               CASE WHEN {override} THEN NULL ELSE k.factor_id END AS factor_id,
               CASE WHEN {override} THEN '{{}}'::jsonb ELSE k.factor_values END AS factor_values,
               {override} AS is_override
        FROM {entries} AS e JOIN units AS u ON u.id = e.module_report_id {plan.joins}
        LEFT JOIN k ON {on}
        WHERE e.module_report_id = ANY(%s::bigint[])),
    unknown AS (SELECT count(*) AS n FROM src WHERE ord IS NULL),
    cur AS (SELECT em.id, em.entry_id, em.kind, em.emission_type{cur_rank}
            FROM {emissions} AS em
            WHERE em.kind = ANY(%s::int[]) AND em.entry_id IN (SELECT entry_id FROM src WHERE NOT py)),
    new AS (SELECT *{new_rank} FROM src WHERE NOT py AND leaf IS NOT NULL),
    matched AS MATERIALIZED (
        SELECT cur.id AS emission_id, new.* FROM new
        FULL JOIN cur ON cur.entry_id = new.entry_id AND cur.kind = new.kind AND cur.emission_type = new.leaf
                         {"AND cur.rn = new.rn" if several else ""}),
    updated AS (
        UPDATE {emissions} AS em SET scope = m.scope, kg_co2eq = m.kg, quantity = m.quantity,
               quantity_unit = m.quantity_unit, factor_id = m.factor_id, factor_values = m.factor_values,
               is_override = m.is_override, computed_at = %s
        FROM matched AS m WHERE em.id = m.emission_id AND m.entry_id IS NOT NULL
          AND (SELECT n FROM unknown) = 0),
    deleted AS (
        DELETE FROM {emissions} AS em USING matched AS m
        WHERE em.id = m.emission_id AND m.entry_id IS NULL AND (SELECT n FROM unknown) = 0),
    inserted AS (
        INSERT INTO {emissions} (module_report_id, unit_id, year, module, kind, entry_id, emission_type, scope,
                                 kg_co2eq, quantity, quantity_unit, factor_id, factor_values, is_override, computed_at)
        SELECT m.module_report_id, m.unit_id, %s, %s, m.kind, m.entry_id, m.leaf, m.scope, m.kg, m.quantity,
               m.quantity_unit, m.factor_id, m.factor_values, m.is_override, %s
        FROM matched AS m WHERE m.emission_id IS NULL AND (SELECT n FROM unknown) = 0),
    totals AS (
        UPDATE {entries} AS e SET kg_co2eq = t.kg
        FROM (SELECT entry_id, sum(kg) FILTER (WHERE leaf IS NOT NULL) AS kg FROM src WHERE NOT py
              GROUP BY entry_id) AS t
        WHERE e.id = t.entry_id AND e.kg_co2eq IS DISTINCT FROM t.kg AND (SELECT n FROM unknown) = 0)
    SELECT module_report_id, count(*) FILTER (WHERE NOT py), array_agg(entry_id) FILTER (WHERE py),
           (SELECT n FROM unknown)
    FROM src WHERE ord = 0 OR ord IS NULL GROUP BY module_report_id
    """
    now = timezone.now()
    params = [*key_arrays, *(values for _, values in columns.values()),
              list(units), list(units.values()), *[_NULL_KEY] * width, module_report_ids,
              [k.value for k in spec.kinds], now, year, spec.module.value, now]
    with transaction.atomic(), connection.cursor() as cursor:
        # The materialised steps hold a row per (entry, leaf): kept in memory rather than spilled to temporary
        # files (the default 4 MB is for many small queries, this is one large one).
        cursor.execute(f"SET LOCAL work_mem = '{SET_BASED_WORK_MEM}'")
        if count >= SET_BASED_HASH_FROM:
            # Many entries: the planner underestimates the rows found again and probes the emission index once
            # per entry (4 s for 350,000 purchases); hash joins read the kind's rows once (1 s). A few entries
            # keep the index probes (hash joins would scan every emission row of the table).
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if any(unknown for *_, unknown in rows):
        return None
    return ({module_report_id: count for module_report_id, count, _, _ in rows if count},
            sorted(pk for _, _, residue, _ in rows for pk in residue or ()))


def dependants_recompute(names, *, year: int, refresh_stats: bool = True, touched: set[int] | None = None,
                         actor=None) -> None:
    """Recompute the kinds that read the emissions of `names` (registry `depends_on`), e.g. the research
    facilities after a facility unit's buildings changed. A recomputation: statuses are left alone."""
    for dependant in dependants_of(names):
        recalculate(dependant, year=year, refresh_stats=refresh_stats, touched=touched, actor=actor)


def module_reports_touched(ids: Iterable[int], *, actor=None, reason: str = "entries changed") -> None:
    """A change to a module's own entries puts it back in progress (validated → in progress)."""
    ids = list(ids)
    changed = list(ModuleReport.objects.filter(pk__in=ids).exclude(status=ModuleStatus.IN_PROGRESS))
    if not changed:
        return
    now = timezone.now()
    reopened = [m.pk for m in changed if m.status == ModuleStatus.VALIDATED]
    ModuleReport.objects.filter(pk__in=[m.pk for m in changed]).update(status=ModuleStatus.IN_PROGRESS,
                                                                        updated_at=now)
    ModuleReport.objects.filter(pk__in=reopened).update(reopened_at=now, reopened_by=actor,
                                                        reopened_reason=reason[:255])
    for module_report in changed:
        if module_report.pk in reopened:
            module_report.reopened_at, module_report.reopened_by, module_report.reopened_reason = now, actor, reason
        module_report.status = ModuleStatus.IN_PROGRESS
    copy_history(ModuleReport, changed, history_type="~", user=actor, reason=reason)


def stats_refresh(module_report_ids: Iterable[int]) -> None:
    """Recompute the statistics of these module reports and of their carbon reports, in SQL."""
    ids = sorted(set(module_report_ids))
    if not ids:
        return
    sums: dict[int, list] = defaultdict(list)
    for module_report_id, emission_type, kg, quantity in emission_sums(ids):
        sums[module_report_id].append((emission_type, kg, quantity))
    module_reports = list(ModuleReport.objects.filter(pk__in=ids))
    counts = _entry_counts(module_reports)
    now = timezone.now()
    for module_report in module_reports:
        module_report.stats = _stats(sums.get(module_report.pk, []), counts.get(module_report.pk, 0))
        module_report.stats_computed_at = now
    _write_stats(ModuleReport, {m.pk: m.stats for m in module_reports}, now)
    _report_stats_refresh({m.report_id for m in module_reports})


def _write_stats(model, stats: dict[int, dict], when) -> None:
    """One UPDATE … FROM unnest() for all rows (derived values: no history, no per-row CASE)."""
    if not stats:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET stats = v.stats::jsonb, stats_computed_at = %s "
            f"FROM unnest(%s::bigint[], %s::text[]) AS v(id, stats) WHERE t.id = v.id",
            [when, list(stats), [json.dumps(stats[k]) for k in stats]],
        )


def _entry_counts(module_reports: list[ModuleReport]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    by_module: dict[int, list[int]] = defaultdict(list)
    for module_report in module_reports:
        by_module[module_report.module].append(module_report.pk)
    for module, ids in by_module.items():
        for spec in kinds_of_module(Module(module)):
            for row in (spec.model.objects.filter(module_report_id__in=ids).values("module_report_id")
                        .order_by().annotate(n=Count("pk"))):
                counts[row["module_report_id"]] += row["n"]
    return counts


def _stats(rows, entry_count: int) -> dict:
    scopes = {1: Decimal(0), 2: Decimal(0), 3: Decimal(0)}
    by_type: dict[str, Decimal] = defaultdict(Decimal)
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    by_quantity: dict[str, Decimal] = defaultdict(Decimal)
    for emission_type, kg, quantity in rows:
        scopes[taxonomy.scope_of(emission_type)] += kg
        by_category[taxonomy.category_of(emission_type)] += kg
        for node in [emission_type, *[a.id for a in taxonomy.ancestors(emission_type)]]:
            by_type[str(node)] += kg
            if quantity is not None:
                by_quantity[str(node)] += quantity
    total = scopes[1] + scopes[2] + scopes[3]
    return {
        "scope1": str(scopes[1]), "scope2": str(scopes[2]), "scope3": str(scopes[3]), "total": str(total),
        "by_emission_type": {k: str(v) for k, v in sorted(by_type.items())},
        "by_category": {k: str(v) for k, v in sorted(by_category.items())},
        "by_quantity": {k: str(v) for k, v in sorted(by_quantity.items())},
        "entry_count": entry_count,
    }


def _report_stats_refresh(report_ids: set[int]) -> None:
    reports = list(CarbonReport.objects.filter(pk__in=report_ids).prefetch_related("modules"))
    now = timezone.now()
    for report in reports:
        merged: dict = {"scope1": Decimal(0), "scope2": Decimal(0), "scope3": Decimal(0), "total": Decimal(0),
                        "by_category": defaultdict(Decimal), "entry_count": 0, "by_module": {}}
        for module_report in report.modules.all():
            stats = module_report.stats or {}
            for key in ("scope1", "scope2", "scope3", "total"):
                merged[key] += Decimal(stats.get(key, "0"))
            for category, kg in stats.get("by_category", {}).items():
                merged["by_category"][category] += Decimal(kg)
            merged["entry_count"] += stats.get("entry_count", 0)
            merged["by_module"][str(module_report.module)] = stats.get("total", "0")
        report.stats = {
            **{k: str(merged[k]) for k in ("scope1", "scope2", "scope3", "total")},
            "by_category": {k: str(v) for k, v in sorted(merged["by_category"].items())},
            "by_module": merged["by_module"], "entry_count": merged["entry_count"],
        }
        report.stats_computed_at = now
    _write_stats(CarbonReport, {r.pk: r.stats for r in reports}, now)


def on_factors_changed(sender, *, kinds, year, **kwargs) -> None:
    """Recompute the entries of `kinds` for `year` after their factors changed (factors.signals)."""
    for name in kinds:
        recalculate(KINDS[name], year=year)


def on_reference_data_changed(sender, **kwargs) -> None:
    """Re-link and recompute the kinds pointing at re-imported reference data, for every year they use."""
    label = sender._meta.label
    for spec in KINDS.values():
        if label not in spec.reference_models:
            continue
        if spec.relink:
            spec.relink()
        years = (spec.model.objects.values_list("module_report__report__year_id", flat=True)
                 .distinct().order_by())
        for year in years:
            recalculate(spec, year=year)
