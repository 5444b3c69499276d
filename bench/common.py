"""Shared set-up of the benchmarks: a private database, a realistic organisation, timing helpers.

Every benchmark prints its figure and the ratio to a baseline measured in the same run on the same
machine (csv + COPY of the same file, `csv_copy_baseline`, or an UPDATE writing the same values): absolute
times mean little on a noisy machine, ratios travel. `measured` gives wall and CPU seconds (this process +
its PostgreSQL backend), `settle` the same starting state for every timed step.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_DB", "carbon_bench")  # two runs on one server: two names


def setup_django() -> None:
    """Point Django at a dedicated benchmark database (created and migrated on first use)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEMO_MODE", "1")
    from config import database

    config = database.database_config(ROOT)
    import psycopg

    admin = psycopg.connect(dbname=config["NAME"], user=config["USER"], host=config["HOST"],
                            port=config["PORT"] or None, autocommit=True)
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    config["NAME"] = BENCH_DB
    original = database.database_config
    database.database_config = lambda base_dir: dict(config)
    import django

    django.setup()
    database.database_config = original
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset_campaign(labs: int = 200, year: int = 2025, institutes: int = 20):
    """Empty the data tables and build EPFL-like units: root → 4 schools → `institutes` institutes → `labs` labs."""
    from django.db import connection

    from carbon.services import year_create
    from units.models import Unit
    from units.services import unit_paths_recompute

    tables = [m._meta.db_table for m in _data_models()]
    tables.append("audit_chain")  # the history tables' hash chain goes with them (audit.chain)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
    root = Unit.objects.create(institutional_code="1", institutional_id="1", name="ROOT", level=1,
                               path_institutional_code="1", path_name="ROOT")
    schools = [Unit.objects.create(institutional_code=f"2{i}", institutional_id=f"2{i}", name=f"S{i}", level=2,
                                   parent=root, path_institutional_code="", path_name="") for i in range(4)]
    institute_units = [Unit.objects.create(institutional_code=f"3{i}", institutional_id=f"3{i}", name=f"I{i}",
                                           level=3, parent=schools[i % 4], path_institutional_code="", path_name="")
                       for i in range(institutes)]
    Unit.objects.bulk_create([Unit(institutional_code=f"4{i:04d}", institutional_id=f"L{i:04d}", name=f"LAB{i}",
                                   level=4, parent=institute_units[i % institutes], path_institutional_code="",
                                   path_name="")
                              for i in range(labs)])
    unit_paths_recompute()
    year_create(year=year)
    return [f"L{i:04d}" for i in range(labs)]


def _data_models():
    from django.apps import apps

    from units.models import Unit

    models = [m for m in apps.get_models() if m._meta.app_label in {"carbon", "modules"}]
    models += [m for m in apps.get_models() if m._meta.app_label == "factors" and "Location" not in m.__name__]
    return models + [Unit, Unit.history.model]


@contextmanager
def timed(results: dict, key: str):
    started = time.perf_counter()
    yield
    results[key] = time.perf_counter() - started


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (local server only; 0 when unreadable)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(fn, *args, **kwargs) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process plus its backend, fn's result) of one call."""
    cpu, db = time.process_time(), backend_cpu()
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu + backend_cpu() - db, result


def settle() -> None:
    """The same starting state for every timed step: dead rows vacuumed, statistics fresh, dirty pages
    flushed (CHECKPOINT), so that no step pays for the previous one's writes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def csv_copy_baseline(model, data: bytes, module_reports: dict[str, int],
                      table: str = "bench_import_baseline") -> int:
    """The import baseline: parse `data` (a per-year file) with the csv module and COPY its rows into an
    ordinary table with the entry table's columns and indexes (no foreign keys), committed — what "COPY of
    the same rows, CSV parsing included" costs. Cells go to their columns as text (PostgreSQL parses them),
    the unit's cf becomes its module report id (`module_reports`), ids come from the table's default.
    Returns the rows copied; the table is created before and dropped after (both small, and timed with it)."""
    import csv

    from django.db import connection, transaction
    from django.utils import timezone

    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (LIKE {quote(model._meta.db_table)} "
                       f"INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)")
    now = timezone.now()
    count = 0
    try:
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {table} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN") as copy:
            reader = csv.reader(io.StringIO(data.decode("utf-8")))
            header = next(reader)
            position = {name: i for i, name in enumerate(header)}
            unit = position["unit_institutional_id"]
            plan = []  # per column: a cell position (and what an empty cell becomes), or a constant
            for f in fields:
                if f.name in position:
                    plan.append((position[f.name], None if f.null else ""))
                elif f.column == "module_report_id":
                    plan.append((-1, None))
                else:
                    constant = {"source": 1, "created_at": now, "updated_at": now}.get(f.name, f.get_default())
                    plan.append((None, constant))
            for cells in reader:
                copy.write_row([module_reports[cells[unit]] if i == -1 else (cells[i] or constant) if i is not None
                                else constant for i, constant in plan])
                count += 1
        return count
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def report(metric: str, value: float, unit: str, baseline: float, **extra) -> None:
    """Print the human line and, last, the JSON line the benchmark contract asks for."""
    ratio = value / baseline if baseline else 0.0
    print(f"{metric}: {value:,.0f} {unit}; baseline {baseline:,.0f} {unit}; ratio {ratio:.3f}")
    print(json.dumps({"metric": metric, "value": round(value, 1), "unit": unit, "baseline": round(baseline, 1),
                      "ratio": round(ratio, 4), **extra}))
