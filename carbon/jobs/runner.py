"""`run_job(job_id)`: the only way a job runs. Claim, heartbeat, handler, compare-and-set finish.

- The claim is one conditional UPDATE … RETURNING: two workers never both win a job.
- Progress and heartbeats go through a second connection (the `jobs` alias), so they are visible
  while the handler's data transaction is still open.
- The handler runs in one transaction on `default`; the finish is a compare-and-set inside that same
  transaction (`WHERE locked_by = me AND state = running`): if the job was aborted or swept meanwhile,
  the data rolls back. Data and "finished" commit together or not at all.
- Follow-up jobs are dispatched on commit, never before.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from carbon.jobs.models import Job, JobResult, JobState, JobType
from carbon.jobs.services import pipeline_mark_running, pipeline_refresh, recalc_finished
from infra.events import emit
from infra.history import write_origin
from units.models import Unit

logger = logging.getLogger(__name__)

__all__ = ["HANDLERS", "JobContext", "Preempted", "register_handler", "run_job", "worker_name"]

HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", 10))
PROGRESS_SECONDS = 1.0
_NAMES: dict[int, str] = {}


def worker_name() -> str:
    """This process's name in `locked_by`. Per process id, not per import: a cluster forks its workers after
    importing this module, and two workers sharing one name could not tell their jobs apart."""
    pid = os.getpid()
    if pid not in _NAMES:
        _NAMES[pid] = f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:6]}"
    return _NAMES[pid]


class _RollBack(Exception):  # noqa: N818
    def __init__(self, outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


class Preempted(Exception):  # noqa: N818
    """The job was aborted or taken over while it ran: its work is rolled back."""


@dataclass
class JobContext:
    """What a handler gets besides the job: progress reporting and a place for follow-ups."""

    job: Job
    followups: list[Callable[[], None]] = field(default_factory=list)
    _last_progress: float = 0.0
    _started: float = field(default_factory=time.monotonic)

    def progress(self, rows_done: int, *, phase: str | None = None, rows_total: int | None = None,
                 force: bool = False) -> None:
        """Record progress on the `jobs` connection (commits at once), at most once a second."""
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_SECONDS:
            return
        self._last_progress = now
        rate = rows_done / max(now - self._started, 1e-6)
        fields = {"rows_done": rows_done, "rows_per_second": rate}
        if phase is not None:
            fields["phase"] = phase
        if rows_total is not None:
            fields["rows_total"] = rows_total
        Job.objects.using("jobs").filter(pk=self.job.pk, locked_by=worker_name()).update(**fields)
        if self.aborted():
            raise Preempted(f"job {self.job.pk} was aborted")

    def aborted(self) -> bool:
        return not Job.objects.using("jobs").filter(pk=self.job.pk, locked_by=worker_name(),
                                                    state=JobState.RUNNING).exists()


@dataclass(frozen=True)
class Outcome:
    result: str
    message: str
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)


HANDLERS: dict[str, Callable[[JobContext], Outcome]] = {}


def register_handler(job_type: str, handler: Callable[[JobContext], Outcome]) -> None:
    HANDLERS[job_type] = handler


def _claim(job_id: int) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic(using="jobs"):
            claimed = Job.objects.using("jobs").filter(
                pk=job_id, state=JobState.QUEUED, locked_by="",
            ).filter(attempts__lt=F("max_attempts")).update(
                state=JobState.RUNNING, locked_by=worker_name(), locked_at=now, heartbeat_at=now,
                attempts=F("attempts") + 1,
            )
    except IntegrityError:
        # Another recalculation of the same kind and year is running: this one waits its turn
        # (the sweep dispatches it again later).
        logger.info("job %s waits: a job of the same scope is running", job_id)
        return False
    if claimed:
        Job.objects.using("jobs").filter(pk=job_id, started_at__isnull=True).update(started_at=now)
        _history(job_id, "running")
        pipeline_mark_running(job_id)
    return bool(claimed)


def _history(job_id: int, state: str, message: str = "") -> None:
    job = Job.objects.using("jobs").only("status_history").get(pk=job_id)
    entry = {"at": timezone.now().isoformat(), "state": state, "worker": worker_name()}
    if message:
        entry["message"] = message[:500]
    Job.objects.using("jobs").filter(pk=job_id).update(status_history=[*job.status_history, entry])


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                Job.objects.using("jobs").filter(pk=self.job_id, locked_by=worker_name(),
                                                 state=JobState.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connections["jobs"].close()


def run_job(job_id: int) -> str | None:
    """Run one job if it can be claimed; returns its result, or None when it was not claimed."""
    if not _claim(job_id):
        return None
    job = Job.objects.get(pk=job_id)
    context = JobContext(job=job)
    heartbeat = _Heartbeat(job_id)
    heartbeat.start()
    try:
        handler = HANDLERS.get(job.job_type)
        if handler is None:
            raise RuntimeError(f"no handler for job type {job.job_type!r}")
        with transaction.atomic(), write_origin(f"job {job_id}", user=job.created_by):
            outcome = handler(context)
            if outcome.result == JobResult.ERROR:
                raise _RollBack(outcome)  # a failed import writes nothing; the verdict is kept below
            finished = Job.objects.filter(pk=job_id, locked_by=worker_name(), state=JobState.RUNNING).update(
                state=JobState.FINISHED, result=outcome.result, status_message=outcome.message[:2000],
                errors=outcome.errors, warnings=outcome.warnings, summary=outcome.summary,
                finished_at=timezone.now(), locked_by="",
            )
            if not finished:
                raise Preempted(f"job {job_id} was aborted or taken over")
            for followup in context.followups:
                transaction.on_commit(followup)
        _history(job_id, "finished", f"{outcome.result}: {outcome.message}")
        result = outcome.result
    except _RollBack as failed:
        _finish_error(job_id, failed.outcome)
        _history(job_id, "finished", f"error: {failed.outcome.message}")
        result = JobResult.ERROR
    except Preempted as exc:
        logger.warning("%s", exc)
        _history(job_id, "preempted", str(exc))
        result = None
    except Exception as exc:  # a crash of the handler: the data rolled back, the job says why
        logger.exception("job %s failed", job_id)
        _finish_error(job_id, Outcome(JobResult.ERROR, f"failed: {exc}"))
        _history(job_id, "finished", f"error: {exc}")
        result = JobResult.ERROR
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    if job.job_type == JobType.IMPORT and result is not None:
        _import_finished(job_id)
    if job.job_type == JobType.RECALC:
        recalc_finished(job.pipeline_id)  # errored siblings count too: the chain never hangs
    pipeline_refresh(job.pipeline_id)
    return result


def _import_finished(job_id: int) -> None:
    """The outcome of an upload, as an audit event: the verdict and the counts the job recorded."""
    job = Job.objects.select_related("created_by").get(pk=job_id)
    unit = Unit.objects.filter(institutional_id=job.unit_cf).first() if job.unit_cf else None
    emit("import_finished", source="job", actor=job.created_by,
         actor_label=job.created_by.get_username() if job.created_by else f"job {job_id}", unit=unit, obj=job,
         kind=job.kind, year=job.year, result=job.result, file_name=job.file_name, job=job_id,
         errors=len(job.errors or []), warnings=len(job.warnings or []), **(job.summary or {}))


def _finish_error(job_id: int, outcome: Outcome) -> None:
    Job.objects.using("jobs").filter(pk=job_id, locked_by=worker_name(), state=JobState.RUNNING).update(
        state=JobState.FINISHED, result=JobResult.ERROR, status_message=outcome.message[:2000],
        errors=outcome.errors, warnings=outcome.warnings, summary=outcome.summary,
        finished_at=timezone.now(), locked_by="")
