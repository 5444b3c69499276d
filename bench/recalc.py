"""Recalculation throughput: recompute every emission of N entries (default 1,000,000) after a factor change.

The recalculation is the real one (`modules.engine.recalculate`: load entries in chunks, compute,
replace their emission rows, store totals, refresh statistics). Baseline, in the same run: one
set-based SQL UPDATE of the same emission rows and entry totals with the new factor.
Usage: python bench/recalc.py [ENTRIES]
"""

from __future__ import annotations

import random
import sys
import time

from common import report, reset_campaign, setup_django

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


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


def sql_baseline(new_ef: str) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE carbon_emission e SET kg_co2eq = p.quantity * %s, computed_at = now() "
                       "FROM modules_processemission p WHERE e.kind = 50 AND e.entry_id = p.id", [new_ef])
        cursor.execute("UPDATE modules_processemission SET kg_co2eq = quantity * %s", [new_ef])
    return time.perf_counter() - started


def main() -> None:
    setup_django()
    from factors.models import ProcessEmissionFactor
    from modules.engine import recalculate
    from modules.registry import KINDS

    labs = reset_campaign()
    started = time.perf_counter()
    build(labs)
    print(f"built {ENTRIES:,} entries in {time.perf_counter() - started:.1f}s")
    baseline = sql_baseline("2")
    ProcessEmissionFactor.objects.update(ef_kg_co2eq_per_unit=3)
    started = time.perf_counter()
    recalculate(KINDS["process_emission"], year=2025)
    elapsed = time.perf_counter() - started
    print(f"recalculate: {elapsed:.1f}s; set-based SQL UPDATE: {baseline:.1f}s")
    report("recalc_entries_per_second", ENTRIES / elapsed, "entries/s", ENTRIES / baseline, entries=ENTRIES,
           target_ratio=0.5)


if __name__ == "__main__":
    main()
