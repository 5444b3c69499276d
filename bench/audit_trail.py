"""The auditor's trail at 1,000,000 history rows: first page and filtered pages against a plain indexed read.

Data: the campaign of `common.reset_campaign` (200 labs), 2,000 process-emission entries imported through the
import service, then their history rows multiplied in SQL to ROWS rows spread over a year (the chain trigger
off while building: its cost is `bench/audit_chain.py`'s figure), ANALYZEd.

Baseline, in the same run and database state: `SELECT * FROM <that history table> ORDER BY history_id DESC
LIMIT 50`, fetched. Measured, interleaved with it (baseline, page, baseline, page…), median of ROUNDS:
  - first page: `trail_rows(global auditor, limit=50)` (every history table and the events, one UNION query,
    then the page's people and units), as the admin page calls it;
  - filtered, a school's auditor: the same call by an auditor of one school (scope through the unit path);
  - filtered, unit + action + dates: a global auditor asking for one institute's created rows of a month.
Wall and CPU (this process plus its PostgreSQL backend, from /proc when the server is local).
Usage: BENCH_DB=carbon_bench python bench/audit_trail.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import sys

from common import measured, reset_campaign, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 30
SEED_ROWS = 2_000


def build(labs: list[str]) -> str:
    from django.db import connection

    from audit.chain import triggers_enabled
    from infra.importing import ImportRequest, get_importer
    from modules.registry import KINDS

    get_importer("factors:process_emission").run(ImportRequest(
        source=b"category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,28\nN2O,265\n", year=2025))
    rng = random.Random(5)
    lines = ["unit_institutional_id,category,quantity"]
    lines += [f"{rng.choice(labs)},{rng.choice(['CO2', 'CH4', 'N2O'])},{rng.randint(1, 999)}"
              for _ in range(SEED_ROWS)]
    outcome = get_importer("process_emission").run(ImportRequest(source="\n".join(lines).encode(), year=2025))
    assert not outcome.errors, outcome.errors[:3]
    history = KINDS["process_emission"].model.history.model
    table = history._meta.db_table
    columns = [f.column for f in history._meta.concrete_fields if f.column not in ("history_id", "history_date")]
    column_list = ", ".join(columns)
    triggers_enabled(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({column_list}, history_date) "
                f"SELECT {column_list}, now() - (random() * interval '365 days') FROM {table} "
                f"CROSS JOIN generate_series(1, %s)", [ROWS // SEED_ROWS - 1])
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"SELECT count(*) FROM {table}")
            print(f"{cursor.fetchone()[0]:,} rows in {table}", flush=True)
    finally:
        triggers_enabled(True)
    return table


def timed(run) -> tuple[float, float]:
    wall, cpu, _ = measured(run)
    return wall, cpu


def auditor(role: str, login: str):
    """The bench's auditor, made once (accounts with history are kept, never deleted); its role granted again on
    the units this run built."""
    from tests.factories import user_with_roles
    from units.models import User
    from units.roles import parse_role_claim
    from units.services import user_roles_replace

    user = User.objects.filter(institutional_id=login).first()
    if user is None:
        return user_with_roles(role, institutional_id=login)
    user_roles_replace(user=user, specs=[parse_role_claim(role)])
    return user


def main() -> None:
    setup_django()
    from django.db import connection

    from audit.trail import Filters, trail_rows

    labs = reset_campaign()
    table = build(labs)
    global_auditor = auditor("calco2.auditor@global", "bench-auditor-global")
    school_auditor = auditor("calco2.auditor@affiliation:20", "bench-auditor-school")
    month = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    narrow = Filters(unit="30", action="created", date_from=month, date_to=month + dt.timedelta(days=30))

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} ORDER BY history_id DESC LIMIT 50")
            assert len(cursor.fetchall()) == 50

    def page(user, filters=None):
        def run():
            assert len(trail_rows(user, filters=filters, limit=50)) == 50
        return run

    cases = {"first page": page(global_auditor), "school auditor": page(school_auditor),
             "unit + action + month": page(global_auditor, narrow)}
    for run in [baseline, *cases.values()]:  # warm-up: caches, plans, the scope's queries
        run()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ["baseline", *cases]}
    for _ in range(ROUNDS):
        for name, run in cases.items():
            times["baseline"].append(timed(baseline))
            times[name].append(timed(run))
    base_wall = statistics.median(t[0] for t in times["baseline"])
    base_cpu = statistics.median(t[1] for t in times["baseline"])
    print(f"baseline (SELECT … ORDER BY history_id DESC LIMIT 50): {base_wall * 1000:.2f} ms wall, "
          f"{base_cpu * 1000:.2f} ms CPU")
    results = {}
    for name in cases:
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        results[name] = {"wall_ms": round(wall * 1000, 2), "cpu_ms": round(cpu * 1000, 2),
                         "ratio_wall": round(wall / base_wall, 2), "ratio_cpu": round(cpu / base_cpu, 2)}
        print(f"{name}: {wall * 1000:.2f} ms wall ({wall / base_wall:.2f}×), {cpu * 1000:.2f} ms CPU "
              f"({cpu / base_cpu:.2f}×)", flush=True)
    print(json.dumps({"metric": "audit_trail_page_ratio", "rows": ROWS, "rounds": ROUNDS, "target_ratio": 3,
                      "baseline_wall_ms": round(base_wall * 1000, 3), "cases": results}))


if __name__ == "__main__":
    main()
