"""The import handler (generic: any registered import kind). Recalculation and aggregation handlers
belong to the modules app, which registers them (the engine lives there)."""

from __future__ import annotations

from carbon.jobs.models import JobResult
from carbon.jobs.runner import JobContext, Outcome
from infra.importing import ImportRequest, get_importer


def import_handler(context: JobContext) -> Outcome:
    job = context.job
    importer = get_importer(job.kind)
    context.progress(0, phase="validating and importing", force=True)
    with job.file.open("rb") as handle:
        outcome = importer.run(ImportRequest(
            source=handle, year=job.year, unit_cf=job.unit_cf or None, actor=job.created_by,
            skip_invalid=bool(job.options.get("skip_invalid")), allow_empty=bool(job.options.get("allow_empty")),
            category=job.options.get("category"),
            progress=lambda n: context.progress(n),
            defer_followups=True,
        ))
    context.progress(outcome.rows_read, rows_total=outcome.rows_read, force=True)
    errors = [e.as_dict() for e in outcome.errors]
    warnings = [w.as_dict() for w in outcome.warnings]
    summary = {"rows_read": outcome.rows_read, "created": outcome.created, "updated": outcome.updated,
               "deleted": outcome.deleted, "unchanged": outcome.unchanged, "skipped_rows": outcome.skipped_rows}
    if outcome.diff:  # a per-year file of entries: a diff against the stored rows, said in its own words
        summary.update(diff=True, added=outcome.created, changed=outcome.updated, removed=outcome.deleted)
    if outcome.failed:
        return Outcome(JobResult.ERROR, f"nothing imported: {len(errors)} row errors", errors, warnings, summary)
    from carbon.jobs.services import aggregate_enqueue, recalc_enqueue

    pipeline = job.pipeline
    if outcome.module_reports:
        pipeline.touched_module_reports = sorted(set(pipeline.touched_module_reports) | set(outcome.module_reports))
        pipeline.save(update_fields=["touched_module_reports"])
    if outcome.recalculate:
        context.followups.append(lambda: recalc_enqueue(kinds=outcome.recalculate, year=job.year,
                                                        actor=job.created_by, pipeline=pipeline,
                                                        source="job"))
    else:
        context.followups.append(lambda: aggregate_enqueue(pipeline))
    result = JobResult.WARNING if (outcome.warnings or outcome.skipped_rows) else JobResult.SUCCESS
    return Outcome(result, outcome.summary(), errors, warnings, summary)
