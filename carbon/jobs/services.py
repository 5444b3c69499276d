"""Writes on pipelines and jobs: enqueue, dispatch, chain, status, sweep, abort, recover."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from carbon.jobs.models import Job, JobResult, JobState, JobType, Pipeline, PipelineStatus, Worker
from infra.events import emit
from infra.history import actor_label, history_user
from units.models import Unit

logger = logging.getLogger(__name__)

__all__ = ["dispatch", "import_enqueue", "pipeline_abort", "pipeline_refresh", "job_recover", "jobs_sweep",
           "recalc_enqueue"]


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this is presumed dead (its worker was killed)."""
    return timedelta(seconds=int(getattr(settings, "JOB_STALE_SECONDS", 120)))


# A queued job nobody claimed for this long is dispatched again (lost message, waiting its turn).
REDISPATCH_AFTER = timedelta(seconds=30)


def dispatch(job: Job) -> None:
    """Hand the job's id to django-q2 once the current transaction commits (never before)."""
    from django_q.tasks import async_task

    job_id = job.pk
    transaction.on_commit(lambda: async_task("carbon.jobs.tasks.run_job_task", job_id,
                                             task_name=f"job-{job_id}", group="carbon-jobs"))


@transaction.atomic
def import_enqueue(*, kind: str, content: bytes, file_name: str, year: int | None, unit_cf: str | None = None,
                   actor=None, skip_invalid: bool = False, allow_empty: bool = False, source: str = "admin",
                   request=None, category: str | None = None) -> Pipeline:
    """A pipeline whose first job imports the file in a worker (an `upload_started` audit event, by `source`)."""
    pipeline = Pipeline.objects.create(kind=kind, year=year, created_by=actor)
    options = {"skip_invalid": skip_invalid, "allow_empty": allow_empty}
    if category:
        options["category"] = category  # the submodule uploaded to (ImportRequest.category)
    job = Job(pipeline=pipeline, job_type=JobType.IMPORT, kind=kind, year=year, unit_cf=unit_cf or "",
              file_name=file_name, options=options, created_by=actor)
    job.file.save(file_name, ContentFile(content), save=False)
    job.save()
    emit("upload_started", source=source, actor=history_user(actor), actor_label=actor_label(actor),
         unit=Unit.objects.filter(institutional_id=unit_cf).first() if unit_cf else None, obj=job,
         request=request, kind=kind, year=year, file_name=file_name, size=len(content), pipeline=pipeline.pk)
    dispatch(job)
    return pipeline


@transaction.atomic
def recalc_enqueue(*, kinds: list[str], year: int, actor=None, pipeline: Pipeline | None = None,
                   source: str = "admin", request=None) -> Pipeline:
    """Queue one recalculation per entry kind (joining an already queued one), then the aggregation."""
    pipeline = pipeline or Pipeline.objects.create(kind="recalculate", year=year, created_by=actor)
    emit("recalculation_started", source=source, actor=history_user(actor), actor_label=actor_label(actor),
         obj=pipeline, request=request, kinds=list(kinds), year=year)
    created = 0
    for kind in kinds:
        if Job.objects.filter(job_type=JobType.RECALC, kind=kind, year=year, state=JobState.QUEUED).exists():
            continue  # a waiting recalculation of the same scope will pick up this change too
        try:
            with transaction.atomic():
                job = Job.objects.create(pipeline=pipeline, job_type=JobType.RECALC, kind=kind, year=year,
                                         created_by=actor)
        except IntegrityError as exc:
            if "one_queued_recalc_per_kind_year" not in str(exc):
                raise
            continue
        dispatch(job)
        created += 1
    Pipeline.objects.filter(pk=pipeline.pk).update(expected_recalcs=created)
    if not created:
        aggregate_enqueue(pipeline)
    return pipeline


def aggregate_enqueue(pipeline: Pipeline) -> None:
    try:
        with transaction.atomic():
            job = Job.objects.create(pipeline=pipeline, job_type=JobType.AGGREGATE, kind="statistics",
                                     year=pipeline.year, created_by=pipeline.created_by)
    except IntegrityError as exc:
        if "one_aggregation_per_pipeline" not in str(exc):
            raise
        return
    dispatch(job)


def recalc_finished(pipeline_id: int) -> None:
    """Last-sibling gate: when every recalculation of the pipeline finished, chain the aggregation."""
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline_id)
        done = pipeline.jobs.filter(job_type=JobType.RECALC, state=JobState.FINISHED).count()
        if done >= pipeline.expected_recalcs:
            aggregate_enqueue(pipeline)


def pipeline_mark_running(job_id: int) -> None:
    """Written at the first claim of any of its jobs (the reference never wrote RUNNING)."""
    Pipeline.objects.using("jobs").filter(jobs__pk=job_id, status=PipelineStatus.NOT_STARTED).update(
        status=PipelineStatus.RUNNING, started_at=timezone.now())


def pipeline_refresh(pipeline_id: int) -> Pipeline:
    """Recompute (never increment) the pipeline's status from its jobs, on the server."""
    pipeline = Pipeline.objects.using("jobs").get(pk=pipeline_id)
    jobs = list(pipeline.jobs.using("jobs").all())
    if not jobs:
        return pipeline
    root = jobs[0]
    errors = [j for j in jobs if j.result == JobResult.ERROR]
    aggregation_done = any(j.job_type == JobType.AGGREGATE and j.state == JobState.FINISHED for j in jobs)
    recalcs_done = sum(j.job_type == JobType.RECALC and j.state == JobState.FINISHED for j in jobs)
    if root.state == JobState.FINISHED and root.result == JobResult.ERROR:
        status = PipelineStatus.FAILED
    elif errors and all(j.state == JobState.FINISHED for j in jobs):
        status = PipelineStatus.PARTIAL
    elif aggregation_done and recalcs_done >= pipeline.expected_recalcs:
        status = PipelineStatus.SUCCESS
    elif any(j.state != JobState.QUEUED or j.attempts for j in jobs):
        status = PipelineStatus.RUNNING
    else:
        status = PipelineStatus.NOT_STARTED
    fields = {"status": status}
    if status in {PipelineStatus.SUCCESS, PipelineStatus.PARTIAL, PipelineStatus.FAILED}:
        fields["finished_at"] = max((j.finished_at for j in jobs if j.finished_at), default=timezone.now())
        fields["last_error"] = next((j.status_message for j in reversed(jobs) if j.result == JobResult.ERROR), "")
    Pipeline.objects.using("jobs").filter(pk=pipeline_id).update(**fields)
    pipeline.refresh_from_db(using="jobs")
    return pipeline


def phase_of(pipeline: Pipeline) -> tuple[int, int]:
    """(phase n, of 3): import → recalculations → statistics, for progress pages."""
    jobs = list(pipeline.jobs.all())
    if not jobs or jobs[0].state != JobState.FINISHED:
        return 1, 3
    if any(j.job_type == JobType.AGGREGATE for j in jobs):
        return 3, 3
    return 2, 3


@transaction.atomic
def pipeline_abort(*, pipeline: Pipeline, actor=None) -> int:
    """Every unfinished job → finished/error; clearing the lock makes a running handler roll back."""
    who = getattr(actor, "institutional_id", None) or "an operator"
    count = pipeline.jobs.exclude(state=JobState.FINISHED).update(
        state=JobState.FINISHED, result=JobResult.ERROR, status_message=f"Aborted by {who}", locked_by="",
        finished_at=timezone.now())
    # The status is read on the `jobs` connection: recompute once these updates are visible.
    transaction.on_commit(lambda: pipeline_refresh(pipeline.pk))
    return count


@transaction.atomic
def job_recover(*, job: Job) -> bool:
    """A stale running job (dead worker) back to the queue, attempts reset; False if it is alive."""
    stale = timezone.now() - stale_after()
    updated = Job.objects.filter(pk=job.pk, state=JobState.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)).update(
        state=JobState.QUEUED, locked_by="", attempts=0)
    if updated:
        dispatch(job)
    return bool(updated)


def jobs_sweep() -> dict:
    """Scheduled every minute: recover or fail jobs of dead workers; re-dispatch forgotten queued jobs."""
    now = timezone.now()
    recovered = failed = redispatched = 0
    for job in Job.objects.filter(state=JobState.RUNNING).filter(
            Q(heartbeat_at__lt=now - stale_after()) | Q(heartbeat_at__isnull=True)):
        with transaction.atomic():
            if job.attempts >= job.max_attempts or (
                    job.job_type == JobType.RECALC and Job.objects.filter(
                        job_type=JobType.RECALC, kind=job.kind, year=job.year, state=JobState.QUEUED).exists()):
                Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
                    state=JobState.FINISHED, result=JobResult.ERROR, locked_by="", finished_at=now,
                    status_message="Auto-recovery: the worker stopped (no heartbeat); attempts exhausted "
                                   "or superseded")
                failed += 1
                transaction.on_commit(lambda pid=job.pipeline_id: pipeline_refresh(pid))
                # A recalculation waiting behind the dead one can run now.
                for waiting in Job.objects.filter(job_type=JobType.RECALC, kind=job.kind, year=job.year,
                                                  state=JobState.QUEUED):
                    dispatch(waiting)
            else:
                Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(state=JobState.QUEUED, locked_by="")
                dispatch(job)
                recovered += 1
    for job in Job.objects.filter(state=JobState.QUEUED, created_at__lt=now - REDISPATCH_AFTER):
        dispatch(job)
        redispatched += 1
    return {"recovered": recovered, "failed": failed, "redispatched": redispatched}


def worker_heartbeat(name: str) -> None:
    now = timezone.now()
    worker, created = Worker.objects.using("jobs").get_or_create(
        name=name, defaults={"started_at": now, "last_heartbeat_at": now})
    if not created:
        Worker.objects.using("jobs").filter(pk=worker.pk).update(last_heartbeat_at=now)
