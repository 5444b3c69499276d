"""The emission engine: entries → leaf emission rows → entry totals → module and report statistics.

Everything works on batches (a chunk of entries of one kind), so the same code serves a single
form save, a 500,000-row import and a full-year recalculation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from carbon import taxonomy
from carbon.emissions import emission_sums, emissions_insert, emissions_replace
from carbon.emissions import emissions_delete as emission_rows_delete
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus, RecalculationState
from carbon.taxonomy import Module
from factors.base import FACTOR_KINDS
from infra.bulk import copy_history, execute_bound
from modules.base import Entry, Leaf
from modules.registry import KINDS, ComputeContext, EntryKindSpec, dependants_of, kinds_of_module

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
    reports = _module_report_index({e.module_report_id for e in entries})
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
    counted = _recalculate_set_based(spec, year, module_report_ids) if spec.set_based else None
    if counted is not None:
        module_reports, done = set(counted), sum(counted.values())
        if progress:
            progress(done)
        return _recalculated(spec, year=year, done=done, module_reports=module_reports,
                             refresh_stats=refresh_stats, touched=touched, actor=actor)
    queryset = (spec.model.objects.filter(module_report_id__in=module_report_ids).order_by("pk")
                .defer("created_at", "updated_at"))
    done = 0
    module_reports: set[int] = set()
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            break
        with transaction.atomic():
            entries_recompute(spec, chunk, ctx)
        module_reports.update(e.module_report_id for e in chunk)
        last_pk = chunk[-1].pk
        done += len(chunk)
        if progress:
            progress(done)
    return _recalculated(spec, year=year, done=done, module_reports=module_reports, refresh_stats=refresh_stats,
                         touched=touched, actor=actor)


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


def _recalculate_set_based(spec: EntryKindSpec, year: int, module_report_ids: list[int]) -> dict[int, int] | None:
    """Recompute a `quantity × factor` kind (registry `set_based`) in one statement: the emission rows found
    again (entry, leaf) updated in place, rows that appear inserted, rows that disappear (no factor any more)
    deleted, the entries' totals written where they changed. Same values as `compute` + `entries_recompute`.

    Returns {module report: entries}, or None (nothing written) when an entry's leaf column holds a value the
    declaration does not list: the caller then takes the Python path, which reports it.
    """
    plan = spec.set_based
    quote = connection.ops.quote_name
    factor_by_key = plan.factor_index(year)
    factor_ids, factor_json, key_arrays = [], [], [[] for _ in plan.lookups[0]]
    for key, factor in factor_by_key.items():
        factor_ids.append(factor.pk)
        factor_json.append(_json(factor.values_used()))
        for array, part in zip(key_arrays, key, strict=True):
            array.append(part)
    leaf_ids = [plan.leaf_of(value) for value in plan.leaf_values]
    units = dict(ModuleReport.objects.filter(pk__in=module_report_ids).values_list("pk", "report__unit_id"))
    width = len(key_arrays)
    key_names = [f"k{i}" for i in range(width)]
    joins = "".join(
        f" LEFT JOIN keys AS m{n} ON " + " AND ".join(f"m{n}.{name} = {expr}"
                                                      for name, expr in zip(key_names, lookup, strict=True))
        for n, lookup in enumerate(plan.lookups))
    found = "COALESCE(" + ", ".join(f"m{n}.factor_id" for n in range(len(plan.lookups))) + ")"
    found_json = "COALESCE(" + ", ".join(f"m{n}.factor_values" for n in range(len(plan.lookups))) + ")"
    factor_table = quote(FACTOR_KINDS[spec.factor_kinds[0]].model._meta.db_table)
    entries, emissions = quote(spec.model._meta.db_table), quote(Emission._meta.db_table)
    override = "e.kg_co2eq_override IS NOT NULL"
    kg = _round_half_even(f"{plan.quantity} * f.{quote(plan.factor_value)}")
    sql = f"""
    WITH keys AS (SELECT * FROM unnest({", ".join(["%s::text[]"] * width)}, %s::bigint[], %s::text[])
                  AS k({", ".join(key_names)}, factor_id, factor_values)),
    leaves AS (SELECT * FROM unnest(%s::text[], %s::int[], %s::smallint[]) AS l(value, leaf, scope)),
    units AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, unit_id)),
    src AS MATERIALIZED (
        SELECT e.id AS entry_id, e.module_report_id, u.unit_id, e.kg_co2eq AS old_kg, l.leaf, l.scope,
               ({override} OR f.id IS NOT NULL) AS needs_row, {override} AS is_override,
               CASE WHEN {override} THEN e.kg_co2eq_override WHEN f.id IS NOT NULL THEN {kg} END AS kg,
               CASE WHEN {override} THEN NULL ELSE f.id END AS factor_id,
               CASE WHEN {override} THEN '{{}}' ELSE {found_json} END AS factor_values
        FROM {entries} AS e JOIN units AS u ON u.id = e.module_report_id
        LEFT JOIN leaves AS l ON l.value = e.{quote(plan.leaf_column)}{joins}
        LEFT JOIN {factor_table} AS f ON f.id = {found}
        WHERE e.module_report_id = ANY(%s::bigint[])),
    cur AS (SELECT em.id, em.entry_id, em.emission_type FROM {emissions} AS em
            JOIN {entries} AS e ON e.id = em.entry_id
            WHERE em.kind = %s AND e.module_report_id = ANY(%s::bigint[])),
    matched AS MATERIALIZED (
        SELECT cur.id AS emission_id, src.* FROM (SELECT * FROM src WHERE needs_row) AS src
        FULL JOIN cur ON cur.entry_id = src.entry_id AND cur.emission_type = src.leaf),
    unknown AS (SELECT count(*) AS n FROM src WHERE needs_row AND leaf IS NULL),
    updated AS (
        UPDATE {emissions} AS em SET scope = m.scope, kg_co2eq = m.kg, quantity = NULL, quantity_unit = '',
               factor_id = m.factor_id, factor_values = m.factor_values::jsonb, is_override = m.is_override,
               computed_at = %s
        FROM matched AS m WHERE em.id = m.emission_id AND m.entry_id IS NOT NULL
          AND (SELECT n FROM unknown) = 0),
    deleted AS (
        DELETE FROM {emissions} AS em USING matched AS m
        WHERE em.id = m.emission_id AND m.entry_id IS NULL AND (SELECT n FROM unknown) = 0),
    inserted AS (
        INSERT INTO {emissions} (module_report_id, unit_id, year, module, kind, entry_id, emission_type, scope,
                                 kg_co2eq, quantity, quantity_unit, factor_id, factor_values, is_override, computed_at)
        SELECT m.module_report_id, m.unit_id, %s, %s, %s, m.entry_id, m.leaf, m.scope, m.kg, NULL, '',
               m.factor_id, m.factor_values::jsonb, m.is_override, %s
        FROM matched AS m WHERE m.emission_id IS NULL AND (SELECT n FROM unknown) = 0),
    totals AS (
        UPDATE {entries} AS e SET kg_co2eq = s.kg FROM src AS s
        WHERE e.id = s.entry_id AND e.kg_co2eq IS DISTINCT FROM s.kg AND (SELECT n FROM unknown) = 0)
    SELECT module_report_id, count(*), (SELECT n FROM unknown) FROM src GROUP BY module_report_id
    """
    now = timezone.now()
    kind = spec.kinds[0].value
    params = [*key_arrays, factor_ids, factor_json,
              list(plan.leaf_values), leaf_ids, [_scope(leaf) for leaf in leaf_ids],
              list(units), list(units.values()), module_report_ids,
              kind, module_report_ids, now, year, spec.module.value, kind, now]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if any(unknown for _, _, unknown in rows):
        return None
    return {module_report_id: count for module_report_id, count, _ in rows}


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
