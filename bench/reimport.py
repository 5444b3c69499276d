"""Re-import of an unchanged per-year file (issue 13): a 100,000-row plane file imported into an empty year,
then the same file again, then the file with 1 % of its rows changed.

The second import is a diff (`modules.importing._StoredRows`): every row is found again, nothing is written.
Target: its time ≤ 0.1 × the first import's. Each step after a VACUUM ANALYZE and a CHECKPOINT; wall and CPU
seconds (this process + its backend); the writes are counted with PostgreSQL's own statistics.
Usage: BENCH_DB=name python bench/reimport.py [ROWS]
"""

from __future__ import annotations

import sys

import ingest
from common import measured, report, settle, setup_django

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def rows_written() -> int:
    """Rows inserted, updated or deleted in the user tables since the statistics were last read (committed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")
        return cursor.fetchone()[0]


def step(label: str, data: bytes) -> tuple[float, float]:
    settle()
    before = rows_written()
    wall, cpu, outcome = measured(ingest.run_import, "plane", data)
    settle()  # the statistics collector sees the commit
    written = rows_written() - before
    print(f"{label}: {wall:.1f}s wall / {cpu:.1f}s CPU; {outcome.summary()}; rows written {written:,}")
    return wall, cpu


def main() -> None:
    setup_django()
    from django.core.management import call_command

    call_command("load_locations", "--airports-only", verbosity=0)
    ingest.ROWS = ROWS
    labs = ingest.prepare()
    data = ingest.plane_file(labs)
    lines = data.decode().splitlines(keepends=True)
    changed = "".join(line.replace(",economy", ",business") if i and i % 100 == 0 else line
                      for i, line in enumerate(lines)).encode()
    first_wall, first_cpu = step("first import", data)
    again_wall, again_cpu = step("same file again", data)
    step("1 % of the rows changed", changed)
    report("reimport_unchanged_seconds", again_wall, "s", first_wall, rows=ROWS, target_ratio=0.1,
           first_cpu_s=round(first_cpu, 2), again_cpu_s=round(again_cpu, 2))


if __name__ == "__main__":
    main()
