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
from carbon.services import year_create
from modules.process.models import ProcessEmission
from tests.campaign import import_csv, kg

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
def year(tree, tmp_path):
    year_create(year=2025)
    import_csv(tmp_path, "factors:process_emission", FACTORS.decode(), "--year", "2025")


def test_upload_pipeline_runs_import_then_statistics(year, sync_queue):
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


def test_factor_upload_chains_one_recalc_then_one_aggregation(year, sync_queue, tmp_path):
    import_csv(tmp_path, "process_emission", entries_file(5).decode(), "--year", "2025")
    before = kg()
    pipeline = import_enqueue(kind="factors:process_emission", content=b"category,ef_kg_co2eq_per_unit\nCO2,3\n",
                              file_name="f.csv", year=2025)
    pipeline.refresh_from_db()
    assert [j.job_type for j in pipeline.jobs.order_by("pk")] == [JobType.IMPORT, JobType.RECALC, JobType.AGGREGATE]
    assert pipeline.status == PipelineStatus.SUCCESS
    assert kg() == before * 2


def test_failed_import_writes_nothing_and_fails_the_pipeline(year, sync_queue):
    pipeline = import_enqueue(kind="process_emission", file_name="bad.csv", year=2025,
                              content=b"unit_institutional_id,category,quantity\n13032,CO2,x\n")
    pipeline.refresh_from_db()
    job = pipeline.jobs.get()
    assert (job.result, pipeline.status) == (JobResult.ERROR, PipelineStatus.FAILED)
    assert job.errors == [{"row": 1, "column": "quantity", "reason": "'x' is not a number"}]
    assert not ProcessEmission.objects.exists()


def test_a_job_is_claimed_once(year, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(3), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    assert run_job(job.pk) == JobResult.SUCCESS
    assert run_job(job.pk) is None  # already finished: not claimed again
    assert ProcessEmission.objects.count() == 3


def test_stuck_recalc_of_the_same_scope_does_not_stall_later_uploads(year, sync_queue, monkeypatch):
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


def test_abort_before_finish_rolls_back(year, manual_queue, monkeypatch):
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


def test_recover_requeues_a_stale_job_only(year, manual_queue):
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


def test_recalc_requests_join_a_queued_one(year, manual_queue):
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


def test_two_workers_run_a_job_exactly_once(year, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=entries_file(2000), file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    processes = [worker(job.pk), worker(job.pk)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    assert sorted(": claimed," in out for out in outputs) == [False, True], outputs
    assert ProcessEmission.objects.count() == 2000
    assert Emission.objects.count() == 2000


def test_worker_killed_mid_import_loses_nothing_and_the_sweep_retries(year, manual_queue, settings):
    rows = 20000
    pipeline = import_enqueue(kind="process_emission", content=entries_file(rows), file_name="big.csv", year=2025)
    job = pipeline.jobs.get()
    process = worker(job.pk)
    wait_for(lambda: Job.objects.get(pk=job.pk).rows_done > 0)  # inside the import's transaction
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert ProcessEmission.objects.count() == 0  # the open transaction died with the worker
    job.refresh_from_db()
    assert job.state == JobState.RUNNING  # nobody finished it: the sweep must
    settings.JOB_STALE_SECONDS = 0
    time.sleep(0.01)
    assert jobs_sweep()["recovered"] == 1
    job.refresh_from_db()
    assert (job.state, job.locked_by) == (JobState.QUEUED, "")
    process = worker(job.pk)
    assert ": claimed, success" in process.communicate(timeout=180)[0].decode()
    assert ProcessEmission.objects.count() == rows  # all of the file's rows, no duplicate
    job.refresh_from_db()
    assert (job.state, job.result, job.attempts) == (JobState.FINISHED, JobResult.SUCCESS, 2)
