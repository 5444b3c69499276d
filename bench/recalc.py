"""Recalculation throughput: recompute every emission of N entries across all kinds (default 1,000,000) after a
factor change of every kind.

The data: the demo campaign (`load_demo`: every kind, computed by the engine, with its factors, reference data and
exchange rates), each kind's entries and emission rows then copied by SQL across the module reports of the same
module up to realistic proportions (`SHARE`: purchases 35 %, plane 25 %, train 10 % …). Members yield one row per
headcount factor (16), rooms five components plus embodied energy, so the emission table holds ~1.9M rows.

The engine: `modules.engine.recalculate` of every kind in the load order (set-based kinds by one statement, the
facilities through `compute`; each kind's statistics; the facilities recomputed after the kinds they read, as in
production). Baseline (issue 13): per (kind, table) one UPDATE writing the same values — the emission rows' kg,
quantity, factor id and values, computation time; the entries' totals — into the same tables in the same state.
The baseline is given the factor each row already has (`factor_id`) and keeps the row's factor values text, so it
does none of the factor choice (stricter than the task); the facilities' baseline rewrites their rows' values.
The baseline runs with the engine statement's work_mem. Measured in the same run, interleaved (baseline, engine,
baseline, engine …) after a warm-up engine pass, each side after a VACUUM ANALYZE and a CHECKPOINT; wall and CPU
seconds (this process + its backend), per kind and total.
Usage: BENCH_DB=name python bench/recalc.py [ENTRIES] [ROUNDS]
"""

from __future__ import annotations

import io
import sys
import time
from collections import defaultdict
from decimal import Decimal

from common import _data_models, measured, report, settle, setup_django

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
YEAR = 2025
# Each kind's share of the entries (the rest goes to plane); students stay one row per unit, as the demo has them.
SHARE = {"purchase": 0.35, "plane": 0.25, "train": 0.10, "equipment": 0.09, "process_emission": 0.04,
         "additional_purchase": 0.03, "building_room": 0.03, "external_cloud": 0.03, "member": 0.03,
         "energy_combustion": 0.02, "external_ai": 0.02, "research_facility": 0.004, "animal_facility": 0.002}


def build() -> None:
    """The demo campaign, then each kind's entries and emission rows multiplied by SQL (setup, not measured)."""
    from django.core.management import call_command
    from django.db import connection

    from carbon.models import ModuleReport
    from modules.registry import KINDS

    with connection.cursor() as cursor:
        tables = [m._meta.db_table for m in _data_models()] + ["audit_chain"]
        cursor.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
    call_command("load_demo", stdout=io.StringIO())
    units = dict(ModuleReport.objects.filter(report__year_id=YEAR).values_list("pk", "report__unit_id"))
    by_module = defaultdict(list)
    for pk, module in ModuleReport.objects.filter(report__year_id=YEAR).values_list("pk", "module"):
        by_module[module].append(pk)
    counts = {name: int(ENTRIES * share) for name, share in SHARE.items()}
    counts["plane"] += ENTRIES - sum(counts.values()) - KINDS["student"].model.objects.count()
    quote = connection.ops.quote_name
    for name, target in counts.items():
        spec = KINDS[name]
        table = spec.model._meta.db_table
        existing = spec.model.objects.count()
        copies = target - existing
        if copies <= 0 or not existing:
            continue
        columns = [f.column for f in spec.model._meta.concrete_fields if f.column not in ("id", "module_report_id")]
        values = ["'B' || m.new_id" if c == "user_institutional_id" and name == "member" else f"e.{quote(c)}"
                  for c in columns]
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy")
            # Copy g of entry e goes to a module report of the same module, spread evenly.
            cursor.execute(
                f"CREATE TEMP TABLE bench_copy AS SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS new_id, "
                f"e.id AS old_id, (%s::bigint[])[1 + (g * 7919 + e.id) %% %s] AS module_report_id "
                f"FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {quote(table)}) AS e "
                f"CROSS JOIN generate_series(0, %s) AS g WHERE g * %s + e.n <= %s",
                [table, by_module[spec.module.value], len(by_module[spec.module.value]), copies // existing + 1,
                 existing, copies])
            cursor.execute(f"INSERT INTO {quote(table)} (id, module_report_id, {', '.join(map(quote, columns))}) "
                           f"SELECT m.new_id, m.module_report_id, {', '.join(values)} FROM bench_copy AS m "
                           f"JOIN {quote(table)} AS e ON e.id = m.old_id")
            cursor.execute(
                "INSERT INTO carbon_emission (module_report_id, unit_id, year, module, kind, entry_id, emission_type,"
                " scope, kg_co2eq, quantity, quantity_unit, factor_id, factor_values, is_override, computed_at) "
                "SELECT m.module_report_id, u.unit_id, em.year, em.module, em.kind, m.new_id, em.emission_type, "
                "em.scope, em.kg_co2eq, em.quantity, em.quantity_unit, em.factor_id, em.factor_values, "
                "em.is_override, em.computed_at FROM bench_copy AS m "
                "JOIN unnest(%s::bigint[], %s::bigint[]) AS u(id, unit_id) ON u.id = m.module_report_id "
                "JOIN carbon_emission AS em ON em.entry_id = m.old_id AND em.kind = ANY(%s)",
                [list(units), list(units.values()), [k.value for k in spec.kinds]])
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("VACUUM ANALYZE")


def factor_change() -> None:
    """Every emission factor of the year × 1.1: the change both sides write."""
    from django.db.models import DecimalField, F

    from factors.base import FACTOR_KINDS

    for spec in FACTOR_KINDS.values():
        efs = {f.name: F(f.name) * Decimal("1.1") for f in spec.model._meta.concrete_fields
               if isinstance(f, DecimalField) and f.name.startswith("ef_")}
        if efs and any(f.name == "year" for f in spec.model._meta.concrete_fields):
            spec.model.objects.filter(year=YEAR).update(**efs)


def _rate(currency: str) -> str:
    return (f"COALESCE((SELECT units_per_eur FROM factors_exchangerate WHERE year = {YEAR} AND currency = {currency}),"
            f" 1)")


def _converted(amount: str) -> str:
    return (f"CASE WHEN e.currency = f.currency THEN {amount} "
            f"ELSE {amount} * {_rate('f.currency')} / {_rate('e.currency')} END")


def _kinds(kinds) -> str:
    return "'{" + ",".join(map(str, kinds)) + "}'"


def baseline_statements() -> dict[str, list[str]]:
    """Per kind: one UPDATE of its emission rows per (entry kind, factor table), then one of its entries' totals."""
    from carbon import taxonomy
    from carbon.taxonomy import EntryKind
    from factors.base import FACTOR_KINDS
    from modules.registry import KINDS

    def factor(name: str) -> str:
        return FACTOR_KINDS[name].model._meta.db_table

    component = {leaf: c for room_type in (*taxonomy.ROOM_TYPES, None)
                 for c, leaf in taxonomy.room_leaves(room_type).items()}
    heating = "f.heating_kwh_per_square_meter * f.conversion_factor * (f.energy_type = '{}')::int"
    room_kwh = {"lighting": "f.lighting_kwh_per_square_meter", "cooling": "f.cooling_kwh_per_square_meter",
                "ventilation": "f.ventilation_kwh_per_square_meter", "heating_elec": heating.format("electric"),
                "heating_thermal": heating.format("thermal")}
    room_case = ("CASE em.emission_type " + " ".join(f"WHEN {leaf} THEN {room_kwh[c]}" for leaf, c in component.items())
                 + " END")
    surface = "(SELECT r.room_surface_square_meter::numeric FROM factors_buildingroom AS r WHERE r.id = e.room_id)"
    requests = ("CASE e.requests_per_user_per_day WHEN '1_5' THEN 3.0 WHEN '5_20' THEN 12.5 WHEN '20_100' THEN 60.0 "
                "ELSE 100.0 END")
    trip_km = "(e.distance_km::numeric * e.number_of_trips)"
    hours = ("(COALESCE(e.active_usage_hours_per_week, f.active_usage_hours_per_week) * f.active_power_w + "
             "COALESCE(e.standby_usage_hours_per_week, f.standby_usage_hours_per_week) * f.standby_power_w) * 0.052")
    fte_units = "(e.fte * f.number_of_unit_per_fte)"
    # kind → [(entry kinds, factor table, kg, quantity)]
    plans = {
        "process_emission": [(None, factor("process_emission"), "e.quantity * f.ef_kg_co2eq_per_unit", "NULL")],
        "plane": [(None, factor("plane"), f"{trip_km} * f.ef_kg_co2eq_per_km * f.rfi_adjustment", trip_km)],
        "train": [(None, factor("train"), f"{trip_km} * f.ef_kg_co2eq_per_km", trip_km)],
        "purchase": [(None, factor("purchase"), _converted("e.total_spent_amount") + " * f.ef_kg_co2eq_per_currency",
                      "NULL")],
        "additional_purchase": [(None, factor("additional_purchase"),
                                 "e.annual_consumption * e.coef_to_kg * f.ef_kg_co2eq_per_kg", "NULL")],
        "external_cloud": [(None, factor("external_cloud"),
                            _converted("e.spent_amount") + " * f.ef_kg_co2eq_per_currency", "NULL")],
        "external_ai": [(None, factor("external_ai"),
                         f"e.fte_count * {requests} * 230 * f.ef_kg_co2eq_per_request / 1000", "NULL")],
        "equipment": [(None, factor("equipment"), f"{hours} * f.ef_kg_co2eq_per_kwh", "NULL")],
        "energy_combustion": [(None, factor("energy_combustion"), "e.quantity * f.ef_kg_co2eq_per_unit", "NULL")],
        "member": [(None, factor("member"), f"{fte_units} * f.ef_kg_co2eq_per_unit", fte_units)],
        "student": [(None, factor("student"), f"{fte_units} * f.ef_kg_co2eq_per_unit", fte_units)],
        "building_room": [
            ([EntryKind.building_room.value], factor("building_room"),
             f"{surface} * e.room_allocation_ratio * f.ef_kg_co2eq_per_kwh * {room_case}", "NULL"),
            ([EntryKind.building_embodied_energy.value], factor("embodied_energy"),
             f"{surface} * f.ef_kgco2eq_per_m2", "NULL")],
    }
    statements: dict[str, list[str]] = {}
    for name, spec in KINDS.items():
        table = spec.model._meta.db_table
        kinds = [k.value for k in spec.kinds]
        sql = []
        for entry_kinds, factor_table, kg, quantity in plans.get(name, ()):
            sql.append(f"UPDATE carbon_emission AS em SET kg_co2eq = round({kg}, 6), quantity = round({quantity}, 6), "
                       f"factor_id = f.id, factor_values = em.factor_values, computed_at = now() "
                       f"FROM {table} AS e, {factor_table} AS f WHERE em.kind = ANY({_kinds(entry_kinds or kinds)}) "
                       f"AND em.entry_id = e.id AND f.id = em.factor_id AND NOT em.is_override")
        if name not in plans:  # computed from other kinds' sums (facilities): their own values, rewritten
            sql.append(f"UPDATE carbon_emission AS em SET kg_co2eq = em.kg_co2eq, quantity = em.quantity, "
                       f"factor_id = em.factor_id, factor_values = em.factor_values, computed_at = now() "
                       f"FROM {table} AS e WHERE em.kind = ANY({_kinds(kinds)}) AND em.entry_id = e.id")
        sql.append(f"UPDATE {table} AS e SET kg_co2eq = s.kg FROM (SELECT entry_id, sum(kg_co2eq) AS kg "
                   f"FROM carbon_emission WHERE kind = ANY({_kinds(kinds)}) GROUP BY entry_id) AS s "
                   f"WHERE e.id = s.entry_id")
        statements[name] = sql
    return statements


def run_baseline(statements: list[str]) -> None:
    from django.db import connection, transaction

    from modules.engine import SET_BASED_WORK_MEM

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{SET_BASED_WORK_MEM}'")  # the memory the engine's statement has
        for sql in statements:
            cursor.execute(sql)


def main() -> None:
    setup_django()
    from modules.engine import recalculate
    from modules.registry import KINDS, load_order

    started = time.perf_counter()
    build()
    sizes = {spec.name: spec.model.objects.count() for spec in KINDS.values()}
    print(f"built {sum(sizes.values()):,} entries in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{name} {n:,}" for name, n in sorted(sizes.items(), key=lambda x: -x[1]) if n))
    order = [spec for spec in load_order() if sizes[spec.name]]
    set_based = [spec.name for spec in order if spec.set_based]
    print(f"set-based: {', '.join(set_based)}; through compute: "
          f"{', '.join(spec.name for spec in order if not spec.set_based)}")
    statements = baseline_statements()
    factor_change()
    for spec in order:  # warm-up: the engine's state, not counted
        recalculate(spec, year=YEAR)
    per_kind = {spec.name: {"baseline": [0.0, 0.0], "engine": [0.0, 0.0]} for spec in order}
    for round_number in range(ROUNDS):
        settle()
        for spec in order:
            wall, cpu, _ = measured(run_baseline, statements[spec.name])
            per_kind[spec.name]["baseline"][0] += wall
            per_kind[spec.name]["baseline"][1] += cpu
        settle()
        for spec in order:
            wall, cpu, _ = measured(recalculate, spec, year=YEAR)
            per_kind[spec.name]["engine"][0] += wall
            per_kind[spec.name]["engine"][1] += cpu
        round_base = sum(v["baseline"][0] for v in per_kind.values())
        round_engine = sum(v["engine"][0] for v in per_kind.values())
        print(f"after round {round_number + 1}: engine {round_engine:.1f}s wall, baseline {round_base:.1f}s wall "
              f"(cumulative); ratio {round_base / round_engine:.3f}")
    print(f"{'kind':<22}{'entries':>10}{'engine s':>10}{'base s':>9}{'ratio':>7}{'engine CPU':>11}{'base CPU':>9}"
          f"{'CPU ratio':>10}")
    for name, times in per_kind.items():
        (ew, ec), (bw, bc) = times["engine"], times["baseline"]
        print(f"{name:<22}{sizes[name]:>10,}{ew:>10.2f}{bw:>9.2f}{bw / ew:>7.3f}{ec:>11.2f}{bc:>9.2f}{bc / ec:>10.3f}")
    ew = sum(v["engine"][0] for v in per_kind.values())
    ec = sum(v["engine"][1] for v in per_kind.values())
    bw = sum(v["baseline"][0] for v in per_kind.values())
    bc = sum(v["baseline"][1] for v in per_kind.values())
    n = sum(sizes.values()) * ROUNDS
    report("recalc_entries_per_second", n / ew, "entries/s", n / bw, entries=sum(sizes.values()), rounds=ROUNDS,
           target_ratio=0.5, engine_cpu_s=round(ec, 2), baseline_cpu_s=round(bc, 2), cpu_ratio=round(bc / ec, 4),
           set_based=set_based)


if __name__ == "__main__":
    main()
