"""The pipelines console: pipelines with their jobs, filters, abort and recover, workers, recalculation states."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from carbon.jobs.models import Job, JobResult, JobState, Pipeline, Worker
from carbon.jobs.services import job_recover, phase_of, pipeline_abort
from carbon.models import RecalculationState
from units.admin_display import json_table
from units.admin_scoping import ReadOnlyAdminMixin, ScopedAdmin, ScopedInlineMixin
from units.scoping import Action


class ConsoleAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Back-office admins only: jobs carry file names and row errors from every unit.

    The rows are read-only; the console's actions (abort, recover, recalculate) are operations that
    need the `operate` permission: a global back-office admin.
    """

    unit_path = None
    view_action = Action.MANAGE


JSON_FIELDS = ("summary", "options", "errors", "warnings", "status_history")
TABLE_ROWS_SHOWN = 200  # a job may carry 100,000 row errors: the page shows the first, the CSV has them all


def _capped_table(rows: list, errors_of=None) -> str:
    """The first rows as a table; `errors_of`: the job whose errors CSV holds them all."""
    if len(rows) <= TABLE_ROWS_SHOWN:
        return json_table(rows)
    more = format_html("<p>{}</p>", gettext("%(shown)d of %(total)d shown.") % {"shown": TABLE_ROWS_SHOWN,
                                                                                "total": len(rows)})
    if errors_of is not None:
        more = format_html('{}<p><a href="{}">{}</a></p>', more, reverse("api-job-errors", args=[errors_of.pk]),
                           gettext("Download every row error (CSV)"))
    return format_html("{}{}", json_table(rows[:TABLE_ROWS_SHOWN]), more)


class HasErrorsFilter(admin.SimpleListFilter):
    title = _("has errors")
    parameter_name = "has_errors"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        errored = Q(jobs__result=JobResult.ERROR) | ~Q(jobs__errors=[])
        if self.value() == "yes":
            return queryset.filter(errored).distinct()
        if self.value() == "no":
            return queryset.exclude(errored)
        return queryset


class JobInline(ScopedInlineMixin, admin.TabularInline):
    model = Job
    extra = 0
    can_delete = False
    fields = ("job_link", "job_type", "kind", "state", "result", "phase", "rows_done", "rows_total",
              "rows_per_second", "attempts", "started_at", "finished_at", "error_count", "status_message")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("job"))
    def job_link(self, obj):
        return format_html('<a href="{}">#{}</a>', reverse("admin:carbon_job_change", args=[obj.pk]), obj.pk)

    @admin.display(description=_("row errors"))
    def error_count(self, obj):
        return len(obj.errors)


@admin.register(Pipeline)
class PipelineAdmin(ConsoleAdmin):
    list_display = ("id", "kind", "year", "status", "phase", "job_count", "error_count", "created_by", "created_at",
                    "finished_at")
    list_filter = ("status", "kind", "year", HasErrorsFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("kind", "last_error", "jobs__file_name")
    date_hierarchy = "created_at"
    inlines = [JobInline]
    readonly_fields = ("kind", "year", "status", "expected_recalcs", "last_error", "created_by", "created_at",
                       "started_at", "finished_at", "progress_link")
    fields = readonly_fields
    actions = ["abort_pipelines"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_jobs=Count("jobs", distinct=True),
            n_errors=Count("jobs", filter=Q(jobs__result=JobResult.ERROR), distinct=True))

    @admin.display(description=_("jobs"), ordering="n_jobs")
    def job_count(self, obj):
        return obj.n_jobs

    @admin.display(description=_("failed jobs"), ordering="n_errors")
    def error_count(self, obj):
        return obj.n_errors

    @admin.display(description=_("phase"))
    def phase(self, obj):
        n, total = phase_of(obj)
        return f"{n}/{total}"

    @admin.display(description=_("progress page"))
    def progress_link(self, obj):
        return format_html('<a href="/admin/upload/pipeline/{}/">progress and result</a>', obj.pk)


    @admin.action(permissions=["operate"], description=_("Abort the selected pipelines (running jobs roll back)"))
    def abort_pipelines(self, request, queryset):
        for pipeline in queryset:
            count = pipeline_abort(pipeline=pipeline, actor=request.user)
            if count:
                messages.success(request, f"Pipeline #{pipeline.pk}: {count} jobs aborted.")
            else:
                messages.warning(request, f"Pipeline #{pipeline.pk}: nothing left to abort.")


@admin.register(Job)
class JobAdmin(ConsoleAdmin):
    list_display = ("id", "pipeline", "job_type", "kind", "year", "state", "result", "attempts", "locked_by",
                    "heartbeat_at", "finished_at")
    list_filter = ("state", "result", "job_type", "kind", "year")
    search_fields = ("kind", "file_name", "status_message")
    # JSON columns are shown as tables (escaped), never as raw JSON.
    readonly_fields = [*(f.name for f in Job._meta.fields if f.name != "file" and f.name not in JSON_FIELDS),
                       *(f"{name}_table" for name in JSON_FIELDS)]
    exclude = ("file",)
    actions = ["recover_jobs"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.display(description=_("summary"))
    def summary_table(self, obj):
        return json_table(obj.summary)

    @admin.display(description=_("options"))
    def options_table(self, obj):
        return json_table(obj.options)

    @admin.display(description=_("status history"))
    def status_history_table(self, obj):
        return json_table(obj.status_history)

    @admin.display(description=_("warnings"))
    def warnings_table(self, obj):
        return _capped_table(obj.warnings)

    @admin.display(description=_("row errors"))
    def errors_table(self, obj):
        return _capped_table(obj.errors, obj)


    @admin.action(permissions=["operate"],
                  description=_("Recover the selected stale jobs (dead worker): queue them again"))
    def recover_jobs(self, request, queryset):
        for job in queryset.filter(state=JobState.RUNNING):
            if job_recover(job=job):
                messages.success(request, f"Job #{job.pk} queued again.")
            else:
                messages.warning(request, f"Job #{job.pk} is alive (recent heartbeat): left alone.")


@admin.register(Worker)
class WorkerAdmin(ConsoleAdmin):
    list_display = ("name", "started_at", "last_heartbeat_at", "alive")

    @admin.display(boolean=True, description=_("alive"))
    def alive(self, obj):
        return obj.last_heartbeat_at > timezone.now() - timedelta(minutes=2)


@admin.register(RecalculationState)
class RecalculationStateAdmin(ConsoleAdmin):
    view_action = Action.BROWSE
    list_display = ("kind", "year", "numbers", "factors_changed_at", "recalculated_at",
                    "entries_recalculated")
    list_filter = ("year", "kind")
    actions = ["recalculate"]

    @admin.display(description=_("numbers"))
    def numbers(self, obj):
        """Words: a green ✔ under "needs recalculation" would say "fine" when it means "to redo"."""
        return gettext("to recalculate (factors changed since)") if obj.needs_recalculation else gettext("up to date")


    @admin.action(permissions=["operate"], description=_("Recalculate the selected kinds (in a worker)"))
    def recalculate(self, request, queryset):
        from carbon.jobs.services import recalc_enqueue

        for year in sorted({s.year for s in queryset}):
            kinds = sorted({s.kind for s in queryset if s.year == year})
            pipeline = recalc_enqueue(kinds=kinds, year=year, actor=request.user, request=request)
            messages.success(request, format_html('{}: recalculation queued — <a href="/admin/upload/pipeline/{}/">'
                                                  'follow it</a>.', year, pipeline.pk))


# django-q2's own pages (task results, failures, schedules, the ORM queue): the same rule as the
# console — global back-office admins only. Re-registered on the scoped base so that no admin page of
# the site answers to Django model permissions instead of the scoping function.
class _TaskQueueAdmin(ScopedAdmin):
    unit_path = None
    view_action = Action.MANAGE


def _scoped_task_queue_admins():
    from django_q import admin as q_admin
    from django_q.models import Failure, OrmQ, Schedule, Success

    for model, library_admin in [(Schedule, q_admin.ScheduleAdmin), (Success, q_admin.TaskAdmin),
                                 (Failure, q_admin.FailAdmin), (OrmQ, q_admin.QueueAdmin)]:
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        attributes = {}
        if model is not Schedule:  # task results and queue rows are written by workers only
            attributes["has_add_permission"] = lambda self, request, *args: False
        scoped = type(f"Scoped{library_admin.__name__}", (_TaskQueueAdmin, library_admin), attributes)
        if scoped.actions:
            # "resubmit" re-runs a task: an operation, not a read.
            scoped.actions = [admin.action(permissions=["operate"])(a) if callable(a) else a for a in scoped.actions]
        admin.site.register(model, scoped)


_scoped_task_queue_admins()
