"""Import throughput: 100,000 plane rows and 100,000 purchase rows through the importer (what the command
line, the worker and the upload pages call).

The import includes everything a real one does: CSV parsing and validation of every row, the entries, their
history (acting user, reason), their emission rows, entry totals and statistics, committed.
Baseline (issue 13), measured in the same run, interleaved with the imports, each step after a VACUUM ANALYZE
and a CHECKPOINT: parse the same CSV with the `csv` module and COPY the rows into an ordinary table with the
entry table's columns and indexes (no FKs), commit included (`common.csv_copy_baseline`). A warm-up pass
(a tenth of the rows) runs first and is not counted. Wall and CPU seconds (this process + its backend).
Usage: BENCH_DB=name python bench/ingest.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import io
import random
import sys

from common import csv_copy_baseline, measured, report, reset_campaign, settle, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
AIRPORTS = ["GVA", "ZRH", "CDG", "LHR", "FRA", "AMS", "JFK", "BCN", "FCO", "VIE", "MUC", "BSL", "LIS", "CPH", "ARN"]


def plane_file(labs: list[str]) -> bytes:
    rng = random.Random(1)
    out = io.StringIO()
    out.write("unit_institutional_id,origin_iata,destination_iata,user_institutional_id,departure_date,"
              "number_of_trips,cabin_class\n")
    for i in range(ROWS):
        origin, destination = rng.sample(AIRPORTS, 2)
        out.write(f"{rng.choice(labs)},{origin},{destination},{100000 + i % 5000},2025-0{1 + i % 9}-1{i % 9},"
                  f"{1 + i % 3},{rng.choice(['economy', 'economy', 'business', 'first'])}\n")
    return out.getvalue().encode()


def purchase_files(labs: list[str]) -> tuple[bytes, bytes]:
    rng = random.Random(2)
    categories = ["scientific_equipment", "it_equipment", "consumable_accessories",
                  "biological_chemical_gaseous_product", "services", "vehicles", "other_purchases"]
    codes = [(f"{10000000 + i * 1000}", categories[i % 7]) for i in range(300)]
    factors = io.StringIO()
    factors.write("purchase_category,purchase_institutional_code,purchase_institutional_description,"
                  "purchase_additional_code,currency,ef_kg_co2eq_per_currency\n")
    for code, category in codes:
        factors.write(f"{category},{code},Goods {code},,chf,0.{rng.randint(100, 900)}\n")
    entries = io.StringIO()
    entries.write("unit_institutional_id,purchase_category,name,supplier,quantity,total_spent_amount,currency,"
                  "purchase_institutional_code\n")
    for i in range(ROWS):
        code, category = rng.choice(codes)
        entries.write(f"{rng.choice(labs)},{category},Item {i},Supplier {i % 97},{1 + i % 5},"
                      f"{rng.randint(10, 50000)}.{rng.randint(0, 99):02d},chf,{code}\n")
    return factors.getvalue().encode(), entries.getvalue().encode()


PLANE_FACTORS = (
    b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
    b"short_to_medium_haul,economy,0.2906,1.35,0,2500\nshort_to_medium_haul,business,0.4471,1.35,0,2500\n"
    b"short_to_medium_haul,first,0.2906,1.35,0,2500\nmedium_to_long_haul,economy,0.1902,1.35,2500,999999\n"
    b"medium_to_long_haul,business,0.3930,1.35,2500,999999\nmedium_to_long_haul,first,0.6056,1.35,2500,999999\n"
)


def run_import(kind: str, data: bytes, year: int = 2025):
    """Import one file; returns its outcome (raises on any error)."""
    from infra.importing import ImportRequest, get_importer

    outcome = get_importer(kind).run(ImportRequest(source=data, year=year))
    if outcome.errors:
        raise SystemExit(f"{kind}: {outcome.errors[:5]}")
    return outcome


def timed_import(kind: str, data: bytes) -> tuple[float, float]:
    wall, cpu, _ = measured(run_import, kind, data)
    return wall, cpu


def prepare() -> tuple[list[str], bytes]:
    """An empty campaign with the plane and purchase factors; returns the labs and the purchase factor file."""
    labs = reset_campaign()
    run_import("factors:plane", PLANE_FACTORS)
    purchase_factors, _ = purchase_files(labs)
    run_import("factors:purchase", purchase_factors)
    return labs


def module_reports_of(kind: str) -> dict[str, int]:
    """unit cf → module report id of the kind's module (what the baseline writes for the unit column)."""
    from carbon.models import ModuleReport
    from modules.registry import KINDS

    return dict(ModuleReport.objects.filter(report__year_id=2025, module=KINDS[kind].module.value)
                .values_list("report__unit__institutional_id", "pk"))


def one_round(files: dict[str, bytes]) -> dict[str, dict[str, tuple[float, float]]]:
    """Baseline then import of each file, each after `settle()`, on a fresh campaign."""
    from modules.registry import KINDS

    prepare()
    result = {}
    for kind, data in files.items():
        settle()
        base_wall, base_cpu, _ = measured(csv_copy_baseline, KINDS[kind].model, data, module_reports_of(kind))
        settle()
        result[kind] = {"baseline": (base_wall, base_cpu), "import": timed_import(kind, data)}
    return result


def main() -> None:
    global ROWS
    setup_django()
    from django.core.management import call_command

    call_command("load_locations", "--airports-only", verbosity=0)
    rows = ROWS
    labs = [f"L{i:04d}" for i in range(200)]  # reset_campaign's labs
    ROWS = max(rows // 10, 1000)
    one_round({"plane": plane_file(labs), "purchase": purchase_files(labs)[1]})  # warm-up, not counted
    ROWS = rows
    files = {"plane": plane_file(labs), "purchase": purchase_files(labs)[1]}
    totals = {"baseline": [0.0, 0.0], "import": [0.0, 0.0]}
    for round_number in range(ROUNDS):
        for kind, steps in one_round(files).items():
            (bw, bc), (iw, ic) = steps["baseline"], steps["import"]
            print(f"round {round_number + 1} {kind}: import {iw:.1f}s wall / {ic:.1f}s CPU "
                  f"({ROWS / iw:,.0f} rows/s); baseline csv+COPY {bw:.2f}s wall / {bc:.2f}s CPU "
                  f"({ROWS / bw:,.0f} rows/s); ratio {bw / iw:.3f} (CPU {bc / ic:.3f})")
            for step in totals:
                totals[step][0] += steps[step][0]
                totals[step][1] += steps[step][1]
    rows_total = 2 * ROWS * ROUNDS
    (iw, ic), (bw, bc) = totals["import"], totals["baseline"]
    report("import_rows_per_second", rows_total / iw, "rows/s", rows_total / bw, rows=rows_total,
           target_ratio=0.25, import_cpu_s=round(ic, 2), baseline_cpu_s=round(bc, 2), cpu_ratio=round(bc / ic, 4))


if __name__ == "__main__":
    main()
