"""Recalculation and aggregation jobs (registered with the runner by the modules app)."""

from __future__ import annotations

from django.db import transaction

from carbon.jobs.models import JobResult, Pipeline
from carbon.jobs.runner import JobContext, Outcome, register_handler
from carbon.models import ModuleReport
from modules.engine import recalculate, stats_refresh
from modules.registry import KINDS


def recalc_handler(context: JobContext) -> Outcome:
    job = context.job
    spec = KINDS[job.kind]
    touched: set[int] = set()
    count = recalculate(spec, year=job.year, refresh_stats=False, touched=touched, actor=job.created_by,
                        progress=lambda n: context.progress(n, phase=f"recalculating {job.kind}"))
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=job.pipeline_id)
        pipeline.touched_module_reports = sorted(set(pipeline.touched_module_reports) | touched)
        pipeline.save(update_fields=["touched_module_reports"])
    context.progress(count, rows_total=count, force=True)
    return Outcome(JobResult.SUCCESS, f"{count} {job.kind} entries recomputed", summary={"entries": count})


def aggregate_handler(context: JobContext) -> Outcome:
    pipeline = Pipeline.objects.get(pk=context.job.pipeline_id)
    ids = pipeline.touched_module_reports
    if not ids and pipeline.year:
        ids = list(ModuleReport.objects.filter(report__year_id=pipeline.year).values_list("pk", flat=True))
    context.progress(0, phase="statistics", rows_total=len(ids), force=True)
    stats_refresh(ids)
    context.progress(len(ids), force=True)
    return Outcome(JobResult.SUCCESS, f"statistics of {len(ids)} module reports refreshed",
                   summary={"module_reports": len(ids)})


def register() -> None:
    register_handler("recalc", recalc_handler)
    register_handler("aggregate", aggregate_handler)
