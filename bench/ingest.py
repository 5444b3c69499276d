"""Import throughput: 100,000 plane rows and 100,000 purchase rows through the command-line service.

The import includes everything a real one does: CSV parsing and validation of every row, the
entries, their history (acting user, reason), their emission rows, entry totals and statistics.
Baseline, in the same run: PostgreSQL COPY of the same entry rows into a same-shaped table.
Usage: python bench/ingest.py [ROWS]
"""

from __future__ import annotations

import io
import random
import sys
import time

from common import copy_rows_baseline, report, reset_campaign, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
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


def run_import(kind: str, data: bytes, year: int = 2025):
    from infra.importing import ImportRequest, get_importer

    started = time.perf_counter()
    outcome = get_importer(kind).run(ImportRequest(source=data, year=year))
    elapsed = time.perf_counter() - started
    if outcome.errors:
        raise SystemExit(f"{kind}: {outcome.errors[:5]}")
    return elapsed


def stored_rows(model) -> list[list]:
    columns = [f.attname for f in model._meta.concrete_fields]
    return [list(row) for row in model.objects.order_by("pk").values_list(*columns)]


def main() -> None:
    setup_django()
    from django.core.management import call_command

    from modules.registry import KINDS

    labs = reset_campaign()
    call_command("load_locations", "--airports-only", verbosity=0)
    run_import("factors:plane", (
        b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
        b"short_to_medium_haul,economy,0.2906,1.35,0,2500\nshort_to_medium_haul,business,0.4471,1.35,0,2500\n"
        b"short_to_medium_haul,first,0.2906,1.35,0,2500\nmedium_to_long_haul,economy,0.1902,1.35,2500,999999\n"
        b"medium_to_long_haul,business,0.3930,1.35,2500,999999\nmedium_to_long_haul,first,0.6056,1.35,2500,999999\n"
    ))
    purchase_factors, purchases = purchase_files(labs)
    run_import("factors:purchase", purchase_factors)
    planes = plane_file(labs)

    timings = {"plane": run_import("plane", planes), "purchase": run_import("purchase", purchases)}
    baseline = {name: copy_rows_baseline(KINDS[name].model, stored_rows(KINDS[name].model)) for name in timings}
    for name in timings:
        print(f"{name}: import {ROWS / timings[name]:,.0f} rows/s ({timings[name]:.1f}s), "
              f"COPY {ROWS / baseline[name]:,.0f} rows/s ({baseline[name]:.2f}s)")
    total_import, total_copy = sum(timings.values()), sum(baseline.values())
    report("import_rows_per_second", 2 * ROWS / total_import, "rows/s", 2 * ROWS / total_copy,
           rows=2 * ROWS, target_ratio=0.25)


if __name__ == "__main__":
    main()
