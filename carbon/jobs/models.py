"""Pipelines and their jobs. See docs/architecture.md "Job machinery"."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["Job", "JobResult", "JobState", "JobType", "Pipeline", "PipelineStatus", "Worker"]


class PipelineStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial (a follow-up job failed)"
    FAILED = "failed", "Failed"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


class JobResult(models.TextChoices):
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class JobType(models.TextChoices):
    IMPORT = "import", "CSV import"
    RECALC = "recalc", "Emission recalculation"
    AGGREGATE = "aggregate", "Statistics aggregation"


class Pipeline(models.Model):
    """One user action (an upload, a recalculation) and the chain of jobs it caused."""

    kind = models.CharField(max_length=64, help_text=_("What started it: the import kind or 'recalculate'."))
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PipelineStatus.choices, default=PipelineStatus.NOT_STARTED)
    expected_recalcs = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Module reports whose statistics the aggregation must refresh (entries imported or recomputed).
    touched_module_reports = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"pipeline #{self.pk} {self.kind} {self.year or ''}".strip()

    @property
    def is_done(self) -> bool:
        return self.status in {PipelineStatus.SUCCESS, PipelineStatus.PARTIAL, PipelineStatus.FAILED}


class Job(models.Model):
    """One unit of background work. Claimed atomically, heartbeated, finished by compare-and-set."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="jobs")
    job_type = models.CharField(max_length=16, choices=JobType.choices)
    kind = models.CharField(max_length=64, help_text=_("Import kind, or the entry kind recalculated."))
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    unit_cf = models.CharField(max_length=32, blank=True)
    file = models.FileField(upload_to="uploads/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True)

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    result = models.CharField(max_length=16, choices=JobResult.choices, blank=True)
    status_message = models.TextField(blank=True)
    locked_by = models.CharField(max_length=128, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)

    phase = models.CharField(max_length=64, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_per_second = models.FloatField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text=_("Every row error: row, column, reason."))
    warnings = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    status_history = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["pk"]
        constraints = [
            # One active recalculation per (entry kind, year): at most one waiting (later requests join
            # it) and at most one running (a second waits for it; a stuck one is swept, never blocks).
            models.UniqueConstraint(fields=["kind", "year"], condition=Q(job_type="recalc", state="queued"),
                                    name="one_queued_recalc_per_kind_year"),
            models.UniqueConstraint(fields=["kind", "year"], condition=Q(job_type="recalc", state="running"),
                                    name="one_running_recalc_per_kind_year"),
            models.UniqueConstraint(fields=["pipeline"], condition=Q(job_type="aggregate"),
                                    name="one_aggregation_per_pipeline"),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"job #{self.pk} {self.job_type} {self.kind}"

    @property
    def eta_seconds(self) -> float | None:
        if self.rows_total and self.rows_per_second and self.rows_done < self.rows_total:
            return (self.rows_total - self.rows_done) / self.rows_per_second
        return None


class Worker(models.Model):
    """A worker process seen recently (heartbeat), for the pipelines console."""

    name = models.CharField(max_length=128, unique=True)
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField()

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["-last_heartbeat_at"]

    def __str__(self) -> str:
        return self.name
