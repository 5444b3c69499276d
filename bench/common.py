"""Shared set-up of the benchmarks: a private database, a realistic organisation, timing helpers.

Every benchmark prints its figure and the ratio to a baseline measured in the same run on the same
machine (PostgreSQL COPY or a set-based UPDATE of the same rows): absolute times mean little on a
noisy machine, ratios travel.
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
BENCH_DB = "carbon_bench"


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


def reset_campaign(labs: int = 200, year: int = 2025):
    """Empty the data tables and build EPFL-like units: root → 4 schools → institutes → `labs` labs."""
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
    institutes = [Unit.objects.create(institutional_code=f"3{i}", institutional_id=f"3{i}", name=f"I{i}", level=3,
                                      parent=schools[i % 4], path_institutional_code="", path_name="")
                  for i in range(20)]
    Unit.objects.bulk_create([Unit(institutional_code=f"4{i:04d}", institutional_id=f"L{i:04d}", name=f"LAB{i}",
                                   level=4, parent=institutes[i % 20], path_institutional_code="", path_name="")
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


def copy_rows_baseline(model, rows: list[list]) -> float:
    """Seconds to COPY `rows` (values in the model's column order) into a same-shaped temporary table."""
    from django.db import connection, transaction

    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields]
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(v) for v in row) + "\n")
    text = buffer.getvalue()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_baseline (LIKE {table} INCLUDING ALL) ON COMMIT DROP")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY bench_baseline ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(text)
        return time.perf_counter() - started


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def report(metric: str, value: float, unit: str, baseline: float, **extra) -> None:
    """Print the human line and, last, the JSON line the benchmark contract asks for."""
    ratio = value / baseline if baseline else 0.0
    print(f"{metric}: {value:,.0f} {unit}; baseline {baseline:,.0f} {unit}; ratio {ratio:.3f}")
    print(json.dumps({"metric": metric, "value": round(value, 1), "unit": unit, "baseline": round(baseline, 1),
                      "ratio": round(ratio, 4), **extra}))
