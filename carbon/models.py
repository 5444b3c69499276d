"""Years, their configuration, and the per-unit carbon reports with one module report per module."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from carbon.taxonomy import Module, entry_kind, entry_kind_choices

__all__ = [
    "CarbonReport",
    "Emission",
    "RecalculationState",
    "ModuleReport",
    "ModuleSetting",
    "ModuleStatus",
    "ReductionObjective",
    "SubmoduleSetting",
    "UncertaintyTag",
    "YearConfiguration",
]


class ModuleStatus(models.IntegerChoices):
    NOT_STARTED = 0, "Not started"
    IN_PROGRESS = 1, "In progress"
    VALIDATED = 2, "Validated"


class UncertaintyTag(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class YearConfiguration(models.Model):
    """A campaign year: created by the back office, opened to lab users when complete."""

    year = models.PositiveSmallIntegerField(primary_key=True, validators=[MinValueValidator(2000),
                                                                        MaxValueValidator(2100)])
    is_started = models.BooleanField(_("open for users"), default=False)
    configuration_completed = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-year"]
        verbose_name = _("year")
        verbose_name_plural = _("years")

    def __str__(self) -> str:
        return str(self.year)


class ModuleSetting(models.Model):
    """Per-year settings of one module."""

    year = models.ForeignKey(YearConfiguration, on_delete=models.CASCADE, related_name="module_settings")
    module = models.PositiveSmallIntegerField(choices=Module.choices())
    enabled = models.BooleanField(default=True)
    uncertainty_tag = models.CharField(max_length=8, choices=UncertaintyTag.choices,
                                       default=UncertaintyTag.MEDIUM)
    # Set when the row was copied by the year rollover ("start from last year"): from which year. Still
    # editable; the admin lists copied rows so that the back office reviews them.
    copied_from_year = models.PositiveSmallIntegerField(_("copied from year"), null=True, blank=True,
                                                        editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("module setting")
        verbose_name_plural = _("module settings")
        ordering = ["year", "module"]
        constraints = [models.UniqueConstraint(fields=["year", "module"], name="module_setting_unique")]

    def __str__(self) -> str:
        return f"{self.year_id} {Module(self.module).label}"


class SubmoduleSetting(models.Model):
    """Per-year settings of one entry kind (a submodule): toggle, threshold, inputs switch."""

    year = models.ForeignKey(YearConfiguration, on_delete=models.CASCADE, related_name="submodule_settings")
    kind = models.PositiveSmallIntegerField(choices=entry_kind_choices)
    enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True,
        help_text=_("kg CO2-eq; an entry above it is highlighted. Empty = never highlighted."),
    )
    inputs_deactivated = models.BooleanField(default=False)
    # Set when the row was copied by the year rollover ("start from last year"): from which year. Still
    # editable; the admin lists copied rows so that the back office reviews them.
    copied_from_year = models.PositiveSmallIntegerField(_("copied from year"), null=True, blank=True,
                                                        editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("submodule setting")
        verbose_name_plural = _("submodule settings")
        ordering = ["year", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["year", "kind"], name="submodule_setting_unique"),
            models.CheckConstraint(condition=models.Q(threshold__gte=0), name="threshold_not_negative"),
            models.CheckConstraint(
                condition=models.Q(threshold__isnull=True) | ~models.Q(kind__in=[1, 2]),
                name="no_threshold_on_headcount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year_id} {entry_kind(self.kind).label}"

    @property
    def module(self) -> Module:
        return entry_kind(self.kind).module

    def clean(self):
        if self.threshold is not None:
            if self.module is Module.headcount:
                raise ValidationError({"threshold": "Headcount has no threshold."})
            if self.threshold < 0:
                raise ValidationError({"threshold": "A threshold cannot be negative."})


class ReductionObjective(models.Model):
    """A reduction goal of the institution: reduce by a share of a reference year by a target year."""

    year = models.ForeignKey(YearConfiguration, on_delete=models.CASCADE, related_name="reduction_objectives")
    target_year = models.PositiveSmallIntegerField()
    reference_year = models.PositiveSmallIntegerField()
    reduction_percentage = models.DecimalField(
        max_digits=5, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Between 0 and 1 (0.5 = halve the reference year's emissions)."),
    )
    # Set when the row was copied by the year rollover ("start from last year"): from which year. Still
    # editable; the admin lists copied rows so that the back office reviews them.
    copied_from_year = models.PositiveSmallIntegerField(_("copied from year"), null=True, blank=True,
                                                        editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reduction objective")
        verbose_name_plural = _("reduction objectives")
        ordering = ["year", "target_year"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reduction_percentage__gte=0, reduction_percentage__lte=1),
                name="reduction_percentage_0_1",
            ),
            models.CheckConstraint(condition=models.Q(target_year__gt=models.F("reference_year")),
                                   name="target_after_reference"),
        ]

    def __str__(self) -> str:
        return f"-{self.reduction_percentage:.0%} by {self.target_year} vs {self.reference_year}"

    def clean(self):
        if self.target_year and self.reference_year and self.target_year <= self.reference_year:
            raise ValidationError({"target_year": "The target year must come after the reference year."})


class CarbonReport(models.Model):
    """One unit's report for one year. Statistics are derived and recomputed, not edited."""

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="reports")
    year = models.ForeignKey(YearConfiguration, on_delete=models.PROTECT, related_name="reports")
    stats = models.JSONField(default=dict, blank=True, editable=False)
    stats_computed_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["stats", "stats_computed_at"])

    class Meta:
        verbose_name = _("carbon report")
        verbose_name_plural = _("carbon reports")
        ordering = ["-year", "unit__path_name"]
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="one_report_per_unit_year")]

    def __str__(self) -> str:
        return f"{self.unit.name} {self.year_id}"

    def completion(self) -> tuple[int, int]:
        statuses = [m.status for m in self.modules.all()]
        return sum(s == ModuleStatus.VALIDATED for s in statuses), len(statuses)

    @property
    def completion_progress(self) -> str:
        done, total = self.completion()
        return f"{done}/{total}"

    @property
    def overall_status(self) -> ModuleStatus:
        done, total = self.completion()
        if done == 0:
            return ModuleStatus.NOT_STARTED
        return ModuleStatus.VALIDATED if done == total else ModuleStatus.IN_PROGRESS


class ModuleReport(models.Model):
    """One module of a report, with its status (validated by the unit's principal)."""

    scope_unit_path = "report__unit__"  # how admin choices of module reports are scoped (no admin of its own)

    report = models.ForeignKey(CarbonReport, on_delete=models.CASCADE, related_name="modules")
    module = models.PositiveSmallIntegerField(choices=Module.choices())
    status = models.PositiveSmallIntegerField(choices=ModuleStatus.choices, default=ModuleStatus.NOT_STARTED)
    stats = models.JSONField(default=dict, blank=True, editable=False)
    stats_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Decision 7: when a validated module went back to in progress, who did it and why, so that the
    # principal sees it on the next visit. Cleared by the next validation.
    reopened_at = models.DateTimeField(null=True, blank=True, editable=False)
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", editable=False)
    reopened_reason = models.CharField(max_length=255, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["stats", "stats_computed_at", "updated_at"])

    class Meta:
        verbose_name = _("module report")
        verbose_name_plural = _("module reports")
        ordering = ["report", "module"]
        constraints = [models.UniqueConstraint(fields=["report", "module"], name="one_module_report_per_module")]
        indexes = [models.Index(fields=["report", "module", "status"])]

    def __str__(self) -> str:
        return f"{self.report} {Module(self.module).label}"


class Emission(models.Model):
    """One leaf emission row of one entry. Leaves only: every aggregate is a plain indexed sum.

    The entry is referenced by (kind, entry_id) because each entry kind has its own table; rows are
    updated in place whenever their entry is recomputed. Derived data: not history-tracked.
    """

    # Derived rows, written by the hundred thousand per import or recalculation: the links are kept by the ORM
    # (cascade, protect) and by the writers, not checked again by the database at every commit; the module
    # report is indexed through the covering index below, the unit through (year, unit).
    module_report = models.ForeignKey(ModuleReport, on_delete=models.CASCADE, related_name="emissions",
                                      db_constraint=False, db_index=False)
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+", db_constraint=False,
                             db_index=False)
    year = models.PositiveSmallIntegerField()
    module = models.PositiveSmallIntegerField(choices=Module.choices())
    kind = models.PositiveSmallIntegerField(choices=entry_kind_choices)
    entry_id = models.BigIntegerField()
    emission_type = models.PositiveIntegerField()
    scope = models.PositiveSmallIntegerField()
    kg_co2eq = models.DecimalField(max_digits=20, decimal_places=6)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True,
                                   help_text=_("Physical quantity: km for travel and commuting, kg for food/waste."))
    quantity_unit = models.CharField(max_length=16, blank=True)
    factor_id = models.BigIntegerField(null=True, blank=True)
    factor_values = models.JSONField(default=dict, blank=True)
    is_override = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("emission")
        verbose_name_plural = _("emissions")
        indexes = [
            models.Index(fields=["kind", "entry_id"]),
            # Covering: statistics and results sum kg and quantity per module report and leaf from the index
            # alone (a lab's rows are scattered over the table's pages).
            models.Index(fields=["module_report", "emission_type"], include=["kg_co2eq", "quantity"],
                         name="emission_report_type_cover"),
            models.Index(fields=["year", "unit"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=[1, 2, 3]), name="emission_scope_1_2_3"),
            models.CheckConstraint(condition=models.Q(kg_co2eq__gte=0), name="emission_kg_not_negative"),
            models.CheckConstraint(
                condition=models.Q(is_override=False) | models.Q(factor_id__isnull=True),
                name="override_has_no_factor",
            ),
        ]

    def __str__(self) -> str:
        return f"{entry_kind(self.kind).label} #{self.entry_id}: {self.kg_co2eq} kg"


class RecalculationState(models.Model):
    """Whether an entry kind's emissions of a year reflect its current factors.

    Factor imports and edits stamp `factors_changed_at`; a finished recalculation stamps
    `recalculated_at` (its history is the trail of recalculations: who, when, how many entries).
    """

    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=64, help_text=_("Entry kind (CSV name)."))
    factors_changed_at = models.DateTimeField(null=True, blank=True)
    recalculated_at = models.DateTimeField(null=True, blank=True)
    entries_recalculated = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("recalculation state")
        verbose_name_plural = _("recalculation states")
        ordering = ["-year", "kind"]
        constraints = [models.UniqueConstraint(fields=["year", "kind"], name="one_recalc_state_per_year_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}"

    @property
    def needs_recalculation(self) -> bool:
        return bool(self.factors_changed_at and (self.recalculated_at is None
                                                 or self.recalculated_at < self.factors_changed_at))

    @classmethod
    def factors_changed(cls, *, year: int, kinds, actor=None, reason: str = "factors changed") -> None:
        from django.utils import timezone

        for kind in kinds:
            state, _ = cls.objects.get_or_create(year=year, kind=kind)
            state.factors_changed_at = timezone.now()
            state._change_reason = reason
            state._history_user = actor
            state.save()

    @classmethod
    def recalculated(cls, *, year: int, kind: str, entries: int, actor=None) -> None:
        from django.utils import timezone

        state, _ = cls.objects.get_or_create(year=year, kind=kind)
        state.recalculated_at = timezone.now()
        state.entries_recalculated = entries
        state._change_reason = f"recalculated {entries} {kind} entries"
        state._history_user = actor
        state.save()


from carbon.jobs.models import Job, JobResult, JobState, JobType, Pipeline, PipelineStatus, Worker  # noqa: E402,F401
