"""Back-office export of N entries (default 1,000,000) through the web's code path, against PostgreSQL's COPY.

Setup (not measured): a 200-lab campaign and N process-emission entries with their emission rows, built in
PostgreSQL by `generate_series`. Measured, interleaved (COPY, export, COPY, export …):

- the **detailed ZIP** and the **results CSV** downloaded from `/admin/reporting/exports/…` by a signed-in
  back-office admin through Django's test client (URL routing, middleware, the view, `ReportFilters`, the
  streaming response; the body is read chunk by chunk and thrown away, as a socket would);
- baseline: `COPY (SELECT … the same rows: entry, unit code, name, affiliation, year, status, fields, kg …)
  TO STDOUT WITH CSV` read by the same process.

Reports wall and CPU time of both, the ratio COPY / export (target ≥ 0.3) and the process's peak RSS
(target < 300 MB). Usage: python bench/export.py [ENTRIES] [ROUNDS]
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time

import common
from common import reset_campaign, setup_django

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
common.BENCH_DB = "helper_b_bench"  # this benchmark's own database (bench/common.py creates it)


def build(entries: int) -> None:
    """`entries` process-emission entries spread over the labs, and one emission row each, in SQL."""
    from django.db import connection, transaction

    from carbon.models import ModuleReport
    from modules.process.models import ProcessEmission

    table = ProcessEmission._meta.db_table
    reports = list(ModuleReport.objects.filter(report__year_id=2025, module=8, report__unit__level=4)
                   .values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {table} (module_report_id, source, note, kg_co2eq, created_at, updated_at, category,
                                 subcategory, quantity)
            SELECT (%s::bigint[])[1 + (g %% %s)], 1, '', (g %% 10000 + 1) * 1.5, now(), now(), 'CO2', '',
                   g %% 10000 + 1
            FROM generate_series(1, %s) AS g""", [reports, len(reports), entries])
        cursor.execute(f"""
            INSERT INTO carbon_emission (module_report_id, unit_id, year, module, kind, entry_id, emission_type,
                                         scope, kg_co2eq, quantity, quantity_unit, factor_values, is_override,
                                         computed_at)
            SELECT e.module_report_id, r.unit_id, r.year_id, 8, 50, e.id, 70200, 1, e.kg_co2eq, e.quantity, 'kg',
                   '{{}}', false, now()
            FROM {table} e JOIN carbon_modulereport m ON m.id = e.module_report_id
            JOIN carbon_carbonreport r ON r.id = m.report_id""")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}; ANALYZE carbon_emission")


COPY_SQL = """
COPY (
  SELECT u.institutional_id, u.name, u.path_name, r.year_id, m.status, e.id, 'process_emission', e.source,
         e.created_by_id, e.note, e.kg_co2eq_override, e.created_at, e.updated_at, e.category, e.subcategory,
         e.quantity, em.kg, em.kg
  FROM {table} e
  JOIN carbon_modulereport m ON m.id = e.module_report_id
  JOIN carbon_carbonreport r ON r.id = m.report_id
  JOIN units_unit u ON u.id = r.unit_id
  LEFT JOIN (SELECT entry_id, sum(kg_co2eq) AS kg FROM carbon_emission WHERE kind = 50 GROUP BY entry_id) em
         ON em.entry_id = e.id
) TO STDOUT WITH CSV HEADER"""


def copy_baseline() -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of COPY … TO STDOUT of the same rows, read and discarded."""
    from django.db import connection

    from modules.process.models import ProcessEmission

    wall, cpu, size = time.perf_counter(), time.process_time(), 0
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_SQL.format(
            table=ProcessEmission._meta.db_table)) as copy:
        for block in copy:
            size += len(block)
    return time.perf_counter() - wall, time.process_time() - cpu, size


def download(client, name: str, fmt: str) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of one download through the web's code path, streamed and discarded."""
    from django.urls import reverse

    wall, cpu, size = time.perf_counter(), time.process_time(), 0
    response = client.get(reverse("reporting-export", args=[name, fmt]), {"year": "2025"})
    assert response.status_code == 200, response.status_code
    for chunk in response.streaming_content:
        size += len(chunk)
    return time.perf_counter() - wall, time.process_time() - cpu, size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.test import Client

    from tests.factories import user_with_roles

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    reset_campaign(labs=200)
    started = time.perf_counter()
    build(ENTRIES)
    print(f"setup: {ENTRIES:,} entries and emission rows in {time.perf_counter() - started:.1f} s", flush=True)
    client = Client()
    from units.models import User

    admin = (User.objects.filter(institutional_id="bench-admin").first()
             or user_with_roles("calco2.backoffice.admin@global", institutional_id="bench-admin"))
    client.force_login(admin)
    rss_before = peak_rss_mb()
    copies, detailed, results = [], [], []
    for _round in range(ROUNDS):
        copies.append(copy_baseline())
        detailed.append(download(client, "detailed", "zip"))
        results.append(download(client, "results", "csv"))
        print(f"round {_round + 1}: COPY {copies[-1][0]:.1f} s ({copies[-1][2]:,} bytes); detailed ZIP "
              f"{detailed[-1][0]:.1f} s wall, {detailed[-1][1]:.1f} s CPU ({detailed[-1][2]:,} bytes); results CSV "
              f"{results[-1][0]:.2f} s", flush=True)
    copy_wall = statistics.median(c[0] for c in copies)
    export_wall = statistics.median(d[0] for d in detailed)
    export_cpu = statistics.median(d[1] for d in detailed)
    peak = peak_rss_mb()
    rows_per_s = ENTRIES / export_wall
    print(f"detailed export: {rows_per_s:,.0f} entries/s; COPY {ENTRIES / copy_wall:,.0f} rows/s; ratio (COPY time / "
          f"export time) wall {copy_wall / export_wall:.3f}; CPU of this process: export {export_cpu:.1f} s, "
          f"COPY {statistics.median(c[1] for c in copies):.1f} s; peak RSS {peak:.0f} MB (before the exports "
          f"{rss_before:.0f} MB)")
    print(json.dumps({"metric": "detailed_export_entries_per_s", "value": round(rows_per_s, 1), "unit": "entries/s",
                      "baseline": round(ENTRIES / copy_wall, 1), "ratio": round(copy_wall / export_wall, 4),
                      "export_wall_s": round(export_wall, 2), "export_cpu_s": round(export_cpu, 2),
                      "copy_wall_s": round(copy_wall, 2), "results_csv_s": round(statistics.median(
                          r[0] for r in results), 3), "peak_rss_mb": round(peak, 1), "entries": ENTRIES}))


if __name__ == "__main__":
    main()
