"""The admin path under load: ten uploads queued at once, then one large per-year file (default
500,000 purchase rows), each run by a separate worker process exactly as `qcluster` would
(`manage.py run_job`), chaining recalculations and statistics.

Prints time to done, rows/s with the ratio to the import baseline of issue 13 measured in the same run just
before (parse the same CSV with the `csv` module, COPY it into an ordinary table with the entry table's columns
and indexes, no FKs, committed: `common.csv_copy_baseline`), each after a VACUUM ANALYZE and a CHECKPOINT,
and the workers' peak memory (it must stay bounded: the target is < 500 MB for the large file). Wall seconds:
the work runs in worker processes.
Usage: BENCH_DB=name python bench/pipeline.py [ROWS]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from common import ROOT, csv_copy_baseline, measured, report, reset_campaign, settle, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
SMALL = 5_000


def run_worker(job_id: int) -> tuple[str, float]:
    from django.db import connection

    env = {**os.environ, "CARBON_DATABASE_NAME": connection.settings_dict["NAME"], "DEMO_MODE": "1"}
    out = subprocess.run([sys.executable, "manage.py", "run_job", str(job_id), "--report-memory"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    peak = float(re.search(r"peak memory: (\d+) MB", out).group(1))
    return out, peak


def drain() -> float:
    """Run queued jobs (the chain adds more) until none is left; returns the highest worker peak (MB)."""
    from carbon.jobs.models import Job, JobState

    peak = 0.0
    while job_ids := list(Job.objects.filter(state=JobState.QUEUED).order_by("pk").values_list("pk", flat=True)):
        for job_id in job_ids:
            _, job_peak = run_worker(job_id)
            peak = max(peak, job_peak)
    return peak


def main() -> None:
    setup_django()
    from django_q import tasks

    tasks.async_task = lambda *args, **kwargs: None  # the bench plays the workers: dispatches are not needed
    import ingest
    from ingest import module_reports_of, purchase_files, run_import

    from carbon.jobs.models import Pipeline
    from carbon.jobs.services import import_enqueue
    from modules.registry import KINDS

    labs = reset_campaign()
    ingest.ROWS = SMALL
    factors, small = purchase_files(labs)
    run_import("factors:purchase", factors)
    started = time.perf_counter()
    for i in range(10):
        import_enqueue(kind="purchase", content=small, file_name=f"unit-{i}.csv", year=2025, unit_cf=labs[i])
    small_peak = drain()
    small_elapsed = time.perf_counter() - started
    print(f"10 uploads of {SMALL:,} rows: done in {small_elapsed:.1f}s; worker peak {small_peak:.0f} MB")

    ingest.ROWS = ROWS
    _, big = purchase_files(labs)
    model = KINDS["purchase"].model
    settle()
    baseline, _, _ = measured(csv_copy_baseline, model, big, module_reports_of("purchase"))
    settle()
    started = time.perf_counter()
    pipeline = import_enqueue(kind="purchase", content=big, file_name="per-year.csv", year=2025)
    big_peak = drain()
    elapsed = time.perf_counter() - started
    pipeline = Pipeline.objects.get(pk=pipeline.pk)
    print(f"{ROWS:,}-row per-year file: pipeline {pipeline.status} in {elapsed:.1f}s; worker peak {big_peak:.0f} MB;"
          f" csv + COPY of the same file {baseline:.2f}s")
    # The same file uploaded again (issue 13): a diff that finds every row, writes nothing; memory still bounded.
    settle()
    started = time.perf_counter()
    again = import_enqueue(kind="purchase", content=big, file_name="per-year.csv", year=2025)
    again_peak = drain()
    again_elapsed = time.perf_counter() - started
    message = again.jobs.order_by("pk").first().status_message
    print(f"same file again: {again_elapsed:.1f}s; worker peak {again_peak:.0f} MB; {message}")
    report("admin_path_rows_per_second", ROWS / elapsed, "rows/s", ROWS / baseline, rows=ROWS,
           peak_worker_mb=big_peak, small_uploads_seconds=round(small_elapsed, 1), target_ratio=0.2,
           target_peak_mb=500, reupload_seconds=round(again_elapsed, 1), reupload_peak_mb=again_peak)


if __name__ == "__main__":
    main()
