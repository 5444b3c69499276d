"""Lab API server time on 1,000,000 entries over 100 labs, and a load run with locust.

Timing (in-process, Django's test Client after `force_login`, so no network or server in the figure): four
GET endpoints, measured round-robin — one request of each per round, the order rotating every round, so
the machine's noise hits all four alike:

- `me`           `/api/v1/me/`                                               the baseline
- `list`         `/api/v1/units/{cf}/years/{y}/entries/plane/?ordering=-kg_co2eq&search=<IATA>&page_size=50`
- `results`      `/api/v1/units/{cf}/years/{y}/results/`                     (professional travel validated)
- `autocomplete` `/api/v1/locations/?mode=plane&q=<2-4 letters>`

Each request goes to the next of the 100 labs (its principal's session). Wall time (`perf_counter`) and
this process's CPU time (`process_time`; PostgreSQL's CPU is not in it) are taken around each request;
p50 and p95 of each endpoint are printed with their ratio to the baseline's. Target: the p95 of list,
results and autocomplete ≤ 3 × the p95 of `me`.

Data (built before timing, not measured): airports by `load_locations --airports-only` (offline), the
plane factors, a seed of plane rows through the real per-year import (entries, history, emission rows),
then the seed replicated in SQL to N entries (ids, traveller and date shifted per copy; the copies have
their entries and emission rows, no history rows), professional travel validated for every lab, module
statistics refreshed, ANALYZE.

Load (`--load`): gunicorn on 127.0.0.1 (a free port) against the same database, and locust headless for a
bounded time (`bench/locustfile.py`): 50 lab principals, each on their own lab, mixing reads (list,
results, autocomplete, report, me) and writes (create, change and delete a process emission, with the
session cookie and CSRF token). Throughput, p50/p95 and failures are printed from locust's CSV files;
any failure is listed with the server log's tracebacks.

Usage: python bench/api.py [--entries N] [--labs N] [--requests N] [--database NAME] [--reuse] [--load]
The database (default `bench_api`) is created on the server of `DATABASE_URL` (or the embedded one).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import common
from common import ROOT, report, reset_campaign, setup_django

YEAR = 2025
AIRPORTS = ["GVA", "ZRH", "BSL", "CDG", "LHR", "FRA", "AMS", "MUC", "VIE", "BCN", "FCO", "LIS", "CPH", "ARN",
            "MAD", "BER", "JFK", "BOS", "SFO", "YUL", "NRT", "SIN", "DXB", "GRU"]
SEARCHES = ["GVA", "ZRH", "LHR", "JFK", "CDG", "SIN", "BOS", "MAD"]  # list: a code, i.e. a few % of a lab's rows
TYPED = ["ge", "gen", "zur", "zür", "lond", "par", "new y", "bos", "fra", "ams", "lis", "bcn", "GVA", "ber",
         "mad", "rom", "vien", "cope", "sing", "toky", "basel", "lausa", "munich", "dub"]
PLANE_FACTORS = (
    b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
    b"short_to_medium_haul,economy,0.2906,1.35,0,2500\nshort_to_medium_haul,business,0.4471,1.35,0,2500\n"
    b"short_to_medium_haul,first,0.2906,1.35,0,2500\nmedium_to_long_haul,economy,0.1902,1.35,2500,999999\n"
    b"medium_to_long_haul,business,0.3930,1.35,2500,999999\nmedium_to_long_haul,first,0.6056,1.35,2500,999999\n")
PROCESS_FACTORS = b"category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,28\nN2O,265\n"


# --------------------------------------------------------------------------------------------- data
def run_import(kind: str, data: bytes) -> None:
    from infra.importing import ImportRequest, get_importer

    outcome = get_importer(kind).run(ImportRequest(source=data, year=YEAR))
    if outcome.failed or outcome.errors:
        raise SystemExit(f"{kind}: {[e.as_dict() for e in outcome.errors[:5]]}")


def plane_seed(labs: list[str], rows: int) -> bytes:
    rng = random.Random(9)
    out = io.StringIO()
    out.write("unit_institutional_id,origin_iata,destination_iata,user_institutional_id,departure_date,"
              "number_of_trips,cabin_class\n")
    for i in range(rows):
        origin, destination = rng.sample(AIRPORTS, 2)
        out.write(f"{labs[i % len(labs)]},{origin},{destination},{100000 + rng.randrange(5000)},"
                  f"2025-{1 + rng.randrange(11):02d}-{1 + rng.randrange(28):02d},{1 + rng.randrange(3)},"
                  f"{rng.choice(['economy', 'economy', 'economy', 'business', 'first'])}\n")
    return out.getvalue().encode()


def replicate(model, kind: int, total: int) -> None:
    """Copy the kind's seed rows (entries and their emission rows) in SQL until the table holds `total`:
    copy k shifts ids by k × span, the traveller by k × 37 (mod 5000) and the date by k mod 28 days."""
    from django.db import connection, transaction

    from carbon.models import Emission

    table, emission_table = model._meta.db_table, Emission._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(id) FROM {table}")
        seed, span = cursor.fetchone()
        cursor.execute(f"SELECT max(id) FROM {emission_table}")
        emission_span = cursor.fetchone()[0]
    missing = total - seed
    if missing <= 0:
        return
    copies, rest = divmod(missing, seed)
    with connection.cursor() as cursor:  # the id of the seed row that the last, partial copy stops at
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM (SELECT id FROM {table} ORDER BY id LIMIT %s) s", [rest])
        last_id = cursor.fetchone()[0]
    columns = [f.column for f in model._meta.concrete_fields]
    shifted = {"id": "p.id + k * %(span)s",
               "user_institutional_id": "(100000 + (p.user_institutional_id::int - 100000 + k * 37) %% 5000)::text",
               "departure_date": "p.departure_date + (k %% 28)"}
    select = ", ".join(shifted.get(c, f"p.{c}") for c in columns)
    emission_columns = [f.column for f in Emission._meta.concrete_fields]
    emission_shifted = {"id": "e.id + k * %(emission_span)s", "entry_id": "e.entry_id + k * %(span)s"}
    emission_select = ", ".join(emission_shifted.get(c, f"e.{c}") for c in emission_columns)
    params = {"span": span, "emission_span": emission_span, "kind": kind, "last_id": last_id}
    step = 10
    for first in range(1, copies + 2, step):
        params.update(first=first, last=min(first + step - 1, copies + 1))
        which = "k BETWEEN %(first)s AND %(last)s AND (k <= " + str(copies) + " OR {id} <= %(last_id)s)"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} p "
                           f"CROSS JOIN generate_series(%(first)s, %(last)s) k WHERE p.id <= %(span)s AND "
                           + which.format(id="p.id"), params)
            cursor.execute(f"INSERT INTO {emission_table} ({', '.join(emission_columns)}) SELECT {emission_select} "
                           f"FROM {emission_table} e CROSS JOIN generate_series(%(first)s, %(last)s) k "
                           f"WHERE e.kind = %(kind)s AND e.entry_id <= %(span)s AND e.id <= %(emission_span)s AND "
                           + which.format(id="e.entry_id"), params)
    with connection.cursor() as cursor:
        for name in (table, emission_table):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {name}))", [name])


def principals(labs: list[str]):
    """One principal per lab (users survive the campaign reset; their roles are set again)."""
    from units.models import User
    from units.roles import parse_role_claim
    from units.services import user_roles_replace

    users = []
    for i, cf in enumerate(labs):
        user, _ = User.objects.get_or_create(institutional_id=f"9{i:05d}", provider="oidc",
                                             defaults={"display_name": f"Principal {cf}"})
        user_roles_replace(user=user, specs=[parse_role_claim(f"calco2.user.principal@unit:{cf}")])
        users.append(user)
    return users


def build(labs: list[str], entries: int, seed_rows: int) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection

    from carbon.models import ModuleReport, YearConfiguration
    from carbon.taxonomy import EntryKind, Module
    from modules.engine import stats_refresh
    from modules.registry import KINDS
    from modules.services import module_validate

    steps: dict[str, float] = {}
    with common.timed(steps, "locations"):
        call_command("load_locations", "--airports-only", verbosity=0)
    with common.timed(steps, "seed import"):
        run_import("factors:plane", PLANE_FACTORS)
        run_import("factors:process_emission", PROCESS_FACTORS)
        run_import("plane", plane_seed(labs, min(seed_rows, entries)))
    with common.timed(steps, "SQL copies"):
        replicate(KINDS["plane"].model, EntryKind.plane.value, entries)
    with common.timed(steps, "validate, stats, ANALYZE"):
        YearConfiguration.objects.filter(year=YEAR).update(is_started=True)
        for cf in labs:
            module_validate(unit_cf=cf, year=YEAR, module=Module.professional_travel)
        stats_refresh(ModuleReport.objects.filter(report__year_id=YEAR, module=Module.professional_travel)
                      .values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return steps


def dataset_ready(labs: int, entries: int) -> bool:
    from carbon.models import ModuleReport, ModuleStatus
    from carbon.taxonomy import Module
    from modules.registry import KINDS
    from units.models import Unit

    return (Unit.objects.filter(level=4).count() == labs and KINDS["plane"].model.objects.count() == entries
            and ModuleReport.objects.filter(report__year_id=YEAR, module=Module.professional_travel,
                                            status=ModuleStatus.VALIDATED).count() == labs)


# ------------------------------------------------------------------------------------------- timing
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def endpoint_urls(cf: str, i: int) -> dict[str, str]:
    return {
        "me": "/api/v1/me/",
        "list": f"/api/v1/units/{cf}/years/{YEAR}/entries/plane/?ordering=-kg_co2eq"
                f"&search={SEARCHES[i % len(SEARCHES)]}&page_size=50",
        "results": f"/api/v1/units/{cf}/years/{YEAR}/results/",
        "autocomplete": f"/api/v1/locations/?mode=plane&q={TYPED[i % len(TYPED)]}",
    }


def measure(users, labs: list[str], rounds: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = []
    for user in users:
        client = Client(SERVER_NAME="127.0.0.1")  # an allowed host (ALLOWED_HOSTS)
        client.force_login(user)
        clients.append(client)
    names = list(endpoint_urls(labs[0], 0))
    for name, url in endpoint_urls(labs[0], 0).items():  # what each endpoint does, once
        with CaptureQueriesContext(connection) as queries:
            response = clients[0].get(url)
        body = response.json()
        size = body["count"] if name == "list" else len(body) if isinstance(body, list) else None
        print(f"  {name}: {len(queries)} queries, {len(response.content):,} bytes"
              + (f", {size:,} matches" if size is not None else ""))
    times = {name: {"wall": [], "cpu": []} for name in names}
    for r in range(-warmup, rounds):
        lab = r % len(labs)
        urls = endpoint_urls(labs[lab], r)
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order: no endpoint always runs first
            wall, cpu = time.perf_counter(), time.process_time()
            response = clients[lab].get(urls[name])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if response.status_code != 200:
                raise SystemExit(f"{name} {urls[name]}: {response.status_code} {response.content[:300]!r}")
            if r >= 0:
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
    return times


def print_timing(times, rounds: int, entries: int, labs: int) -> dict:
    base = {k: percentile(times["me"][k], 95) for k in ("wall", "cpu")}
    print(f"\n{'endpoint':<13} {'wall p50':>9} {'wall p95':>9} {'ratio p95':>9} {'CPU p50':>9} {'CPU p95':>9} "
          f"{'ratio p95':>9}  (ms; ratio to me/'s p95)")
    summary = {}
    for name, series in times.items():
        row = {f"{k}_p{p}_ms": round(percentile(series[k], p) * 1000, 2) for k in ("wall", "cpu") for p in (50, 95)}
        row.update(wall_mean_ms=round(statistics.fmean(series["wall"]) * 1000, 2),
                   wall_ratio_p95=round(percentile(series["wall"], 95) / base["wall"], 2),
                   cpu_ratio_p95=round(percentile(series["cpu"], 95) / base["cpu"], 2) if base["cpu"] else None)
        summary[name] = row
        print(f"{name:<13} {row['wall_p50_ms']:>9.2f} {row['wall_p95_ms']:>9.2f} {row['wall_ratio_p95']:>9.2f} "
              f"{row['cpu_p50_ms']:>9.2f} {row['cpu_p95_ms']:>9.2f} {row['cpu_ratio_p95'] or 0:>9.2f}")
    print()
    for name in ("list", "results", "autocomplete"):
        met = summary[name]["wall_ratio_p95"] <= 3
        print(f"{name}: p95 {summary[name]['wall_p95_ms']:.2f} ms = {summary[name]['wall_ratio_p95']:.2f} × me/ "
              f"→ target ≤ 3: {'met' if met else 'MISSED'}")
    for name in ("list", "results", "autocomplete"):
        report(f"api_{name}_p95", percentile(times[name]["wall"], 95) * 1e6, "µs", base["wall"] * 1e6,
               requests=rounds, entries=entries, labs=labs, target_ratio=3)
    return summary


# --------------------------------------------------------------------------------------------- load
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sessions(users, labs: list[str]) -> list[dict]:
    """A signed-in session per user (the session row is in the bench database, which the server reads)."""
    from django.test import Client

    out = []
    for user, cf in zip(users, labs, strict=True):
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        out.append({"cf": cf, "session": client.cookies["sessionid"].value,
                    "csrf": secrets.token_urlsafe(24)[:32].replace("-", "a").replace("_", "b")})
    return out


def _locust(work: Path, env: dict, port: int, n_users: int, run_time: int) -> subprocess.CompletedProcess:
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        raise SystemExit(f"the server did not answer; see {work / 'server.log'}")
    command = [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile.py"), "--headless",
               "--users", str(n_users), "--spawn-rate", str(n_users), "--run-time", f"{run_time}s",
               "--stop-timeout", "10", "--host", f"http://127.0.0.1:{port}", "--csv", str(work / "locust"),
               "--only-summary", "--loglevel", "WARNING"]
    print("  locust " + " ".join(command[2:]))
    started = time.perf_counter()
    locust = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=run_time + 120)
    print(f"  locust exited {locust.returncode} after {time.perf_counter() - started:.0f}s; files in {work}")
    return locust


def load_run(users, labs: list[str], database: str, n_users: int, run_time: int, workers: int, threads: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench_api_load_"))
    (work / "users.json").write_text(json.dumps({"year": YEAR, "users": sessions(users[:n_users], labs[:n_users])}))
    port = free_port()
    env = {**os.environ, "CARBON_DATABASE_NAME": database, "DEMO_MODE": "1", "DEBUG": "0",
           "BENCH_API_USERS": str(work / "users.json")}
    with open(work / "server.log", "w") as server_log:
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            locust = _locust(work, env, port, n_users, run_time)
        finally:
            server.terminate()
            server.wait(timeout=30)
    (work / "locust.out").write_text(locust.stdout + locust.stderr)
    if not (work / "locust_stats.csv").exists():
        raise SystemExit(f"locust wrote no statistics:\n{locust.stdout[-2000:]}{locust.stderr[-2000:]}")
    with open(work / "locust_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    print(f"\n{'request':<22} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for row in rows:
        print(f"{row['Name']:<22} {row['Request Count']:>7} {row['Failure Count']:>5} {float(row['Requests/s']):>7.1f} "
              f"{row['50%']:>7} {row['95%']:>7} {float(row['Max Response Time']):>7.0f}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures = int(total["Failure Count"])
    if failures:
        print((work / "locust_failures.csv").read_text())
        log = (work / "server.log").read_text()
        print("server log (tail):\n" + log[-4000:])
    result = {"metric": "api_load", "users": n_users, "seconds": run_time, "requests": int(total["Request Count"]),
              "failures": failures, "requests_per_second": round(float(total["Requests/s"]), 1),
              "p50_ms": float(total["50%"]), "p95_ms": float(total["95%"]), "workers": workers, "threads": threads}
    print(json.dumps(result))
    return result


# --------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="plane entries in total (default 1,000,000)")
    parser.add_argument("--labs", type=int, default=100, help="level-4 labs (default 100)")
    parser.add_argument("--seed-rows", type=int, default=20_000,
                        help="rows through the real import before the SQL copies (default 20,000)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed rounds first (default 20)")
    parser.add_argument("--database", default="bench_api", help="the benchmark's own database (default bench_api)")
    parser.add_argument("--reuse", action="store_true", help="keep the data if the database already holds it")
    parser.add_argument("--no-timing", action="store_true", help="skip the in-process timing")
    parser.add_argument("--load", action="store_true", help="also the locust load run (gunicorn on loopback)")
    parser.add_argument("--users", type=int, default=50, help="locust users (default 50)")
    parser.add_argument("--run-time", type=int, default=60, help="locust seconds (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (default 8)")
    args = parser.parse_args()
    if args.users > args.labs:
        parser.error("--users must not exceed --labs (each locust user writes in its own lab)")

    began = time.perf_counter()
    print("load average at start: {:.1f} {:.1f} {:.1f}; {} CPUs".format(*os.getloadavg(), os.cpu_count()))
    common.BENCH_DB = args.database
    setup_django()
    labs = [f"L{i:04d}" for i in range(args.labs)]
    if args.reuse and dataset_ready(args.labs, args.entries):
        print(f"reusing {args.entries:,} entries over {args.labs} labs in {args.database}")
    else:
        started = time.perf_counter()
        labs = reset_campaign(labs=args.labs, year=YEAR)
        steps = build(labs, args.entries, args.seed_rows)
        print(f"built {args.entries:,} plane entries over {args.labs} labs in {time.perf_counter() - started:.1f}s ("
              + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()) + ")")
    users = principals(labs)
    if not args.no_timing:
        print(f"timing {args.requests} requests per endpoint, round-robin, after {args.warmup} warm-up rounds:")
        started = time.perf_counter()
        times = measure(users, labs, args.requests, args.warmup)
        print(f"  {4 * (args.requests + args.warmup)} requests in {time.perf_counter() - started:.1f}s")
        print_timing(times, args.requests, args.entries, args.labs)
    if args.load:
        print(f"\nload: {args.users} users for {args.run_time}s")
        load_run(users, labs, args.database, args.users, args.run_time, args.workers, args.threads)
    print("load average at end: {:.1f} {:.1f} {:.1f}; bench runtime {:.0f}s".format(
        *os.getloadavg(), time.perf_counter() - began))


if __name__ == "__main__":
    main()
