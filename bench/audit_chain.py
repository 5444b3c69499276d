"""The audit hash chain's cost on an import: 100,000 process-emission rows with and without the chain trigger.

Same run, same data, interleaved (on, off, on, off, …) so that drift of a noisy machine hits both: before
each import the entry, history, emission and chain tables are emptied; the "off" runs disable the
`audit_chain_append` trigger of every tracked table (`ALTER TABLE … DISABLE TRIGGER`), the "on" runs keep
it. Wall and CPU (this process plus the PostgreSQL backend's, read from /proc when the server is local)
are reported; the figure is the median ratio on/off (target ≤ 1.15). verify_audit's time is printed too.
Usage: python bench/audit_chain.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys

from common import measured, reset_campaign, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
TABLES = ["modules_processemission", "modules_historicalprocessemission", "carbon_emission", "audit_chain"]


def process_file(labs: list[str]) -> bytes:
    rng = random.Random(3)
    out = io.StringIO()
    out.write("unit_institutional_id,category,quantity\n")
    for _ in range(ROWS):
        gas = rng.choice(["CO2", "CH4", "N2O"])
        out.write(f"{rng.choice(labs)},{gas},{rng.randint(1, 5000)}.{rng.randint(0, 99)}\n")
    return out.getvalue().encode()


def one_import(data: bytes, chained: bool) -> tuple[float, float, int]:
    from django.db import connection

    from audit.chain import triggers_enabled
    from infra.importing import ImportRequest, get_importer

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(TABLES))
    triggers_enabled(chained)
    wall, cpu, outcome = measured(get_importer("process_emission").run, ImportRequest(source=data, year=2025))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_chain")
        links = cursor.fetchone()[0]
    if outcome.errors:
        raise SystemExit(f"process_emission: {outcome.errors[:5]}")
    return wall, cpu, links


def main() -> None:
    setup_django()
    from audit.chain import triggers_enabled, verify
    from infra.importing import ImportRequest, get_importer

    labs = reset_campaign()
    get_importer("factors:process_emission").run(ImportRequest(
        source=b"category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,28\nN2O,265\n", year=2025))
    data = process_file(labs)
    one_import(data, True)  # warm-up (caches, plans)
    runs: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    for _ in range(ROUNDS):
        for chained in (True, False):
            runs[chained].append(one_import(data, chained))
    triggers_enabled(True)
    assert all(links >= ROWS for _, _, links in runs[True]) and all(links == 0 for _, _, links in runs[False])
    wall = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    print(f"import of {ROWS:,} rows, median of {ROUNDS}: chained {wall[True]:.2f}s wall / {cpu[True]:.2f}s CPU; "
          f"without the chain {wall[False]:.2f}s wall / {cpu[False]:.2f}s CPU")
    print(f"audit_chain_import_ratio: wall {wall[True] / wall[False]:.3f}, CPU {cpu[True] / cpu[False]:.3f}",
          flush=True)
    one_import(data, True)
    check = verify()
    assert check.ok, check.broken
    print(f"verify_audit: {check.rows:,} links in {check.seconds:.2f}s")
    print(json.dumps({"metric": "audit_chain_import_ratio", "value": round(wall[True], 3), "unit": "s",
                      "baseline": round(wall[False], 3), "ratio": round(wall[True] / wall[False], 4),
                      "cpu_ratio": round(cpu[True] / cpu[False], 4), "rows": ROWS, "rounds": ROUNDS,
                      "verify_seconds": round(check.seconds, 3), "verify_rows": check.rows, "target_ratio": 1.15}))


if __name__ == "__main__":
    main()
