"""Recalculation throughput: recompute every emission of N entries (default 1,000,000) after a factor change.

The recalculation is the real one (`modules.engine.recalculate`: load entries in chunks, compute, write
their emission rows and totals, refresh statistics). Baseline (issue 13): one UPDATE per table writing the
same values as the engine (every column the engine writes: the emission rows' kg, quantity, factor id and
values, computation time; the entries' totals) into the same tables, in the same state. Measured in the same
run, interleaved (baseline, engine, baseline, engine …), after a warm-up engine pass, each step after a
VACUUM ANALYZE and a CHECKPOINT; wall and CPU seconds (this process + its backend).
Usage: BENCH_DB=name python bench/recalc.py [ENTRIES] [ROUNDS]
"""

from __future__ import annotations

import random
import sys
import time

from common import measured, report, reset_campaign, settle, setup_django

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def build(labs: list[str]) -> None:
    """N process-emission entries with their emissions, written with COPY (setup, not measured)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from carbon.models import Emission, ModuleReport
    from factors.models import ProcessEmissionFactor
    from infra.bulk import allocate_ids, copy_tuples
    from modules.process.models import ProcessEmission

    factor = ProcessEmissionFactor.objects.create(year=2025, category="CO2", ef_kg_co2eq_per_unit=1.5)
    reports = list(ModuleReport.objects.filter(report__year_id=2025, module=8, report__unit__level=4)
                   .values_list("pk", "report__unit_id"))
    rng = random.Random(3)
    now = timezone.now()
    for start in range(0, ENTRIES, 100_000):
        count = min(100_000, ENTRIES - start)
        ids = allocate_ids(ProcessEmission, count)
        emission_ids = allocate_ids(Emission, count)
        entries, emissions = [], []
        for pk, emission_pk in zip(ids, emission_ids, strict=True):
            module_report, unit = reports[rng.randrange(len(reports))]
            quantity = rng.randint(1, 10000)
            kg = quantity * 1.5
            entries.append((pk, module_report, 1, None, "", None, kg, now, now, "CO2", "", quantity))
            emissions.append((emission_pk, module_report, unit, 2025, 8, 50, pk, 70200, 1, kg, None, "",
                              factor.pk, '{"ef_kg_co2eq_per_unit": "1.5"}', False, now))
        with transaction.atomic():
            copy_tuples(ProcessEmission._meta.db_table,
                        ["id", "module_report_id", "source", "created_by_id", "note", "kg_co2eq_override",
                         "kg_co2eq", "created_at", "updated_at", "category", "subcategory", "quantity"], entries)
            copy_tuples("carbon_emission",
                        ["id", "module_report_id", "unit_id", "year", "module", "kind", "entry_id", "emission_type",
                         "scope", "kg_co2eq", "quantity", "quantity_unit", "factor_id", "factor_values",
                         "is_override", "computed_at"], emissions)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE modules_processemission; ANALYZE carbon_emission")


def sql_baseline() -> None:
    """What the engine writes, as one UPDATE per table: the values of the current factor."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE carbon_emission e SET kg_co2eq = round(p.quantity * f.ef_kg_co2eq_per_unit, 6), quantity = NULL, "
            "factor_id = f.id, factor_values = jsonb_build_object('ef_kg_co2eq_per_unit', "
            "f.ef_kg_co2eq_per_unit::text, 'unit', f.unit), computed_at = now() "
            "FROM modules_processemission p JOIN factors_processemissionfactor f "
            "ON f.year = 2025 AND lower(f.category) = lower(p.category) AND f.subcategory = '' "
            "WHERE e.kind = 50 AND e.entry_id = p.id")
        cursor.execute(
            "UPDATE modules_processemission p SET kg_co2eq = round(p.quantity * f.ef_kg_co2eq_per_unit, 6) "
            "FROM factors_processemissionfactor f "
            "WHERE f.year = 2025 AND lower(f.category) = lower(p.category) AND f.subcategory = ''")


def main() -> None:
    setup_django()
    from factors.models import ProcessEmissionFactor
    from modules.engine import recalculate
    from modules.registry import KINDS

    labs = reset_campaign()
    started = time.perf_counter()
    build(labs)
    print(f"built {ENTRIES:,} entries in {time.perf_counter() - started:.1f}s")
    ProcessEmissionFactor.objects.update(ef_kg_co2eq_per_unit=3)  # the factor change both sides write
    recalculate(KINDS["process_emission"], year=2025)  # warm-up: the engine's state, not counted
    totals = {"baseline": [0.0, 0.0], "engine": [0.0, 0.0]}
    for round_number in range(ROUNDS):
        settle()
        base_wall, base_cpu, _ = measured(sql_baseline)
        settle()
        wall, cpu, _ = measured(recalculate, KINDS["process_emission"], year=2025)
        print(f"round {round_number + 1}: recalculate {wall:.1f}s wall / {cpu:.1f}s CPU; UPDATE baseline "
              f"{base_wall:.1f}s wall / {base_cpu:.1f}s CPU; ratio {base_wall / wall:.3f} (CPU {base_cpu / cpu:.3f})")
        for key, (w, c) in (("baseline", (base_wall, base_cpu)), ("engine", (wall, cpu))):
            totals[key][0] += w
            totals[key][1] += c
    (ew, ec), (bw, bc) = totals["engine"], totals["baseline"]
    n = ENTRIES * ROUNDS
    report("recalc_entries_per_second", n / ew, "entries/s", n / bw, entries=ENTRIES, rounds=ROUNDS,
           target_ratio=0.5, engine_cpu_s=round(ec, 2), baseline_cpu_s=round(bc, 2), cpu_ratio=round(bc / ec, 4))


if __name__ == "__main__":
    main()
