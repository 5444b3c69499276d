"""Background pipelines: chain, claim, heartbeat, sweep, abort, recover — against real PostgreSQL.

Worker processes are real subprocesses (`manage.py run_job`) on the test database, so a SIGKILL is a
real kill and two workers are two processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django.utils import timezone

from carbon.jobs.models import Job, JobResult, JobState, JobType, Pipeline, PipelineStatus
from carbon.jobs.runner import run_job
from carbon.jobs.services import import_enqueue, job_recover, jobs_sweep, pipeline_abort, recalc_enqueue
from carbon.models import Emission, ModuleReport
from modules.process.models import ProcessEmission
from tests.campaign import import_csv, kg

# Transactional: jobs claim and report through the `jobs` connection and in worker processes, which see only
# committed rows.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "jobs"])

FACTORS = b"category,ef_kg_co2eq_per_unit\nCO2,1.5\n"


def entries_file(rows: int, cf: str = "13032") -> bytes:
    return ("unit_institutional_id,category,quantity\n" + "".join(f"{cf},CO2,{i % 97 + 1}\n" for i in range(rows))
            ).encode()


@pytest.fixture
def sync_queue(monkeypatch):
    """django-q2 in synchronous mode: a dispatched job runs at once, in this process (like a worker would)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def manual_queue(monkeypatch):
    """Dispatches are recorded, not run: the test plays the worker."""
    dispatched: list[int] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, job_id, **kw: dispatched.append(job_id))
    return dispatched


@pytest.fixture
def year_with_process_factors(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", FACTORS.decode(), "--year", "2025")


def test_upload_pipeline_runs_import_then_statistics(year_with_process_factors, sync_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(10), file_name="p.csv", year=2025)
    pipeline.refresh_from_db()
    jobs = list(pipeline.jobs.order_by("pk"))
    assert [(j.job_type, j.state, j.result) for j in jobs] == [
        (JobType.IMPORT, JobState.FINISHED, JobResult.SUCCESS),
        (JobType.AGGREGATE, JobState.FINISHED, JobResult.SUCCESS)]
    assert pipeline.status == PipelineStatus.SUCCESS
    assert ProcessEmission.objects.count() == 10
    module = ModuleReport.objects.get(report__unit__institutional_id="13032", report__year=2025, module=8)
    assert Decimal(module.stats["total"]) == kg() > 0
    assert jobs[0].summary["created"] == 10 and jobs[0].rows_done == 10
    assert [h["state"] for h in jobs[0].status_history] == ["running", "finished"]


def test_factor_upload_chains_one_recalc_then_one_aggregation(year_with_process_factors, sync_queue, tmp_path):
    import_csv(tmp_path, "process_emission", entries_file(5).decode(), "--year", "2025")
    before = kg()
    pipeline = import_enqueue(kind="factors:process_emission", content=b"category,ef_kg_co2eq_per_unit\nCO2,3\n",
                              file_name="f.csv", year=2025)
    pipeline.refresh_from_db()
    assert [j.job_type for j in pipeline.jobs.order_by("pk")] == [JobType.IMPORT, JobType.RECALC, JobType.AGGREGATE]
    assert pipeline.status == PipelineStatus.SUCCESS
    assert kg() == before * 2


def test_failed_import_writes_nothing_and_fails_the_pipeline(year_with_process_factors, sync_queue):
    pipeline = import_enqueue(kind="process_emission", file_name="bad.csv", year=2025,
                              content=b"unit_institutional_id,category,quantity\n13032,CO2,x\n")
    pipeline.refresh_from_db()
    job = pipeline.jobs.get()
    assert (job.result, pipeline.status) == (JobResult.ERROR, PipelineStatus.FAILED)
    assert job.errors == [{"row": 1, "column": "quantity", "reason": "'x' is not a number"}]
    assert not ProcessEmission.objects.exists()


def test_a_job_is_claimed_once(year_with_process_factors, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(3), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    assert run_job(job.pk) == JobResult.SUCCESS
    assert run_job(job.pk) is None  # already finished: not claimed again
    assert ProcessEmission.objects.count() == 3


def test_stuck_recalc_of_the_same_scope_does_not_stall_later_uploads(year_with_process_factors, sync_queue,
                                                                     monkeypatch):
    """The reference's 1219 incident: a zombie recalculation of (kind, year) blocked later chains."""
    zombie_pipeline = Pipeline.objects.create(kind="recalculate", year=2025)
    zombie = Job.objects.create(pipeline=zombie_pipeline, job_type=JobType.RECALC, kind="process_emission",
                                year=2025, state=JobState.RUNNING, locked_by="dead-worker", attempts=1,
                                heartbeat_at=timezone.now() - timedelta(hours=2))
    pipeline = import_enqueue(kind="factors:process_emission", content=b"category,ef_kg_co2eq_per_unit\nCO2,2\n",
                              file_name="f.csv", year=2025)
    pipeline.refresh_from_db()
    assert pipeline.status == PipelineStatus.RUNNING  # its recalculation waits for the running one
    jobs_sweep()
    pipeline.refresh_from_db()
    zombie.refresh_from_db()
    assert (zombie.state, zombie.result) == (JobState.FINISHED, JobResult.ERROR)
    assert pipeline.status == PipelineStatus.SUCCESS
    later = import_enqueue(kind="process_emission", content=entries_file(2), file_name="p.csv", year=2025)
    later.refresh_from_db()
    assert later.status == PipelineStatus.SUCCESS


def test_abort_before_finish_rolls_back(year_with_process_factors, manual_queue, monkeypatch):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(30), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    from carbon.jobs import runner

    original = runner.JobContext.progress

    def abort_midway(self, rows_done, **kwargs):
        if rows_done:
            # An operator aborts from another connection (the admin), while the import's transaction is open.
            operator = threading.Thread(target=lambda: (pipeline_abort(pipeline=pipeline), connections.close_all()))
            operator.start()
            operator.join()
        return original(self, rows_done, force=True, **{k: v for k, v in kwargs.items() if k != "force"})

    monkeypatch.setattr(runner.JobContext, "progress", abort_midway)
    assert run_job(job.pk) is None
    job.refresh_from_db()
    assert (job.state, job.result, job.status_message) == (JobState.FINISHED, JobResult.ERROR,
                                                           "Aborted by an operator")
    assert not ProcessEmission.objects.exists()
    assert Pipeline.objects.get(pk=pipeline.pk).status == PipelineStatus.FAILED


def test_recover_requeues_a_stale_job_only(year_with_process_factors, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(3), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, locked_by="x", attempts=1,
                                         heartbeat_at=timezone.now())
    assert not job_recover(job=job)  # alive: left alone
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert job_recover(job=job)
    job.refresh_from_db()
    assert (job.state, job.attempts, job.locked_by) == (JobState.QUEUED, 0, "")
    assert run_job(job.pk) == JobResult.SUCCESS


@pytest.mark.django_db  # runs no job: rolled back like any other test
def test_recalc_requests_join_a_queued_one(year_with_process_factors, manual_queue):
    first = recalc_enqueue(kinds=["process_emission"], year=2025)
    second = recalc_enqueue(kinds=["process_emission"], year=2025)
    assert Job.objects.filter(job_type=JobType.RECALC, state=JobState.QUEUED).count() == 1
    assert first.jobs.filter(job_type=JobType.RECALC).count() == 1
    assert second.jobs.filter(job_type=JobType.AGGREGATE).count() == 1


# --- real worker processes ------------------------------------------------------------------------
def worker(job_id: int) -> subprocess.Popen:
    env = {**os.environ, "CARBON_DATABASE_NAME": connection.settings_dict["NAME"], "DEMO_MODE": "1",
           "JOB_HEARTBEAT_SECONDS": "1"}
    env.pop("PYTEST_VERSION", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.Popen([sys.executable, "manage.py", "run_job", str(job_id)], cwd=django_settings.BASE_DIR,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_two_workers_run_a_job_exactly_once(year_with_process_factors, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(2000), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    processes = [worker(job.pk), worker(job.pk)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    assert sorted(": claimed," in out for out in outputs) == [False, True], outputs
    assert ProcessEmission.objects.count() == 2000
    assert Emission.objects.count() == 2000


def qcluster() -> subprocess.Popen:
    """A django-q2 cluster of one worker process (as `make worker` runs it) on the test database."""
    env = {**os.environ, "CARBON_DATABASE_NAME": connection.settings_dict["NAME"], "DEMO_MODE": "1",
           "Q_WORKERS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTEST_VERSION", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=django_settings.BASE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_clusters_consume_one_queue_and_run_every_job_once(year_with_process_factors):
    """Two worker clusters take the jobs of one django-q2 queue: each job is claimed and run exactly once."""
    cfs = ["10000", "13030", "13100", "13032", "14000", "14010", "14011"]
    clusters = [qcluster(), qcluster()]
    try:
        # Unit file i holds quantities 1..i+1; each pipeline chains its aggregation from the worker that imported.
        pipelines = {cf: import_enqueue(kind="process_emission", file_name=f"{cf}.csv", year=2025, unit_cf=cf,
                                        content=("category,quantity\n" + "".join(f"CO2,{n}\n" for n in
                                                                               range(1, i + 2))).encode())
                     for i, cf in enumerate(cfs)}
        wait_for(lambda: Job.objects.filter(job_type=JobType.AGGREGATE, state=JobState.FINISHED).count() == len(cfs),
                 timeout=120)
    finally:
        for cluster in clusters:
            cluster.send_signal(signal.SIGTERM)
        logs = [cluster.communicate(timeout=30)[0] for cluster in clusters]
    jobs = list(Job.objects.all())
    assert len(jobs) == 2 * len(cfs)  # an import and its aggregation per pipeline, nothing else
    assert [(j.pk, j.state, j.result, j.attempts) for j in jobs
            if (j.state, j.result, j.attempts) != (JobState.FINISHED, JobResult.SUCCESS, 1)] == []
    claims = {j.pk: [h["worker"] for h in j.status_history if h["state"] == "running"] for j in jobs}
    assert all(len(workers) == 1 for workers in claims.values()), claims
    assert len({workers[0] for workers in claims.values()}) == 2, (claims, logs)  # both clusters took jobs
    for i, cf in enumerate(cfs):
        assert kg(unit__institutional_id=cf) == Decimal("1.5") * (i + 1) * (i + 2) / 2, cf
        assert Pipeline.objects.get(pk=pipelines[cf].pk).status == PipelineStatus.SUCCESS, cf
    assert ProcessEmission.objects.count() == Emission.objects.count() == sum(range(1, len(cfs) + 1))


def entries_ids_allocated() -> int:
    """The entries' id sequence, read on this test's connection: ids a worker allocated inside its open transaction
    show here (sequences are not transactional), its rows do not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [ProcessEmission._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
        return cursor.fetchone()[0]


def test_worker_killed_mid_import_loses_nothing_and_the_sweep_retries(year_with_process_factors, manual_queue,
                                                                      settings):
    from modules.engine import CHUNK

    rows = 3 * CHUNK  # written in three chunks, in one transaction
    pipeline = import_enqueue(kind="process_emission", content=entries_file(rows), file_name="big.csv", year=2025)
    job = pipeline.jobs.get()
    ids_before = entries_ids_allocated()
    process = worker(job.pk)
    # Ids of the second chunk are allocated once the first chunk's entries, emissions and history are written.
    wait_for(lambda: entries_ids_allocated() > ids_before + CHUNK)
    try:
        # (Not `rows_done`: progress is written at most once a second, so it may still show 0 here.)
        assert ProcessEmission.objects.count() == 0 and Emission.objects.count() == 0  # written, not committed
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert ProcessEmission.objects.count() == 0 and Emission.objects.count() == 0  # died with the worker
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.RUNNING, 1)  # nobody finished it: the sweep must
    settings.JOB_STALE_SECONDS = 0
    time.sleep(0.01)
    manual_queue.clear()
    assert jobs_sweep()["recovered"] == 1
    job.refresh_from_db()
    assert (job.state, job.locked_by, manual_queue) == (JobState.QUEUED, "", [job.pk])
    process = worker(job.pk)
    assert ": claimed, success" in process.communicate(timeout=180)[0].decode()
    assert ProcessEmission.objects.count() == Emission.objects.count() == rows  # the whole file, once
    job.refresh_from_db()
    assert (job.state, job.result, job.attempts) == (JobState.FINISHED, JobResult.SUCCESS, 2)
    assert [h["state"] for h in job.status_history] == ["running", "running", "finished"]


def test_forked_workers_have_names_of_their_own():
    """A cluster forks its workers after importing the runner: each must still claim under its own name."""
    import multiprocessing

    from carbon.jobs.runner import worker_name

    parent = worker_name()
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        children = set(pool.map(_child_worker_name, range(4)))
    assert parent not in children and len(children) >= 1
    assert all(name.split(":")[1] != parent.split(":")[1] for name in children)


def _child_worker_name(_):
    from carbon.jobs.runner import worker_name

    return worker_name()
