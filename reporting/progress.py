"""Campaign progress, read side: the labs × modules matrix of a year, the validations over time, and the
footprint by year against the reduction objectives.

Every function takes the units it may cover (`units.scoping.clamp` of the caller's REPORT scope and filters):
nothing here defaults to everything.

- Matrix: one row per active lab (level 4) with a report for the year, one cell per module with the module
  report's status; counts per status overall and per module.
- Validations over time: a module is validated when one of its history rows has status "validated" and the
  row before it (of the same module report) does not. History rather than audit events: `audit` sits above
  `reporting`, and the history table is the module report's own record of every status change.
- Trajectory: Σ of the emission rows (leaves, so never double counted) of the units per year, all data and
  validated modules only; an objective "−p % by T against R" is the point (T, footprint(R) × (1 − p)).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils import timezone

from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus, ReductionObjective
from carbon.taxonomy import Module
from units.models import Unit

__all__ = ["LAB_LEVEL", "LabRow", "ObjectivePoint", "ProgressMatrix", "Trajectory", "YearFootprint",
           "progress_matrix", "trajectory", "validations_per_day"]

LAB_LEVEL = 4


@dataclass
class LabRow:
    unit: Unit
    statuses: list[ModuleStatus]  # in `Module` order

    @property
    def validated(self) -> int:
        return sum(s == ModuleStatus.VALIDATED for s in self.statuses)


@dataclass
class ProgressMatrix:
    year: int
    modules: list[Module]
    rows: list[LabRow] = field(default_factory=list)

    @property
    def counts(self) -> dict[ModuleStatus, int]:
        """Cells per status, every status listed (0 included)."""
        found = Counter(s for row in self.rows for s in row.statuses)
        return {status: found.get(status, 0) for status in ModuleStatus}

    def module_counts(self, status: ModuleStatus) -> list[int]:
        """Per module (column), the labs whose module has `status`."""
        return [sum(row.statuses[i] == status for row in self.rows) for i in range(len(self.modules))]


def progress_matrix(*, year: int, units: QuerySet[Unit]) -> ProgressMatrix:
    """The labs of `units` with a report for `year`, each with its eight module statuses (one query)."""
    modules = list(Module)
    matrix = ProgressMatrix(year=year, modules=modules)
    statuses: dict[int, dict[int, int]] = {}
    for report_id, module, status in ModuleReport.objects.filter(
            report__year_id=year, report__unit__in=units, report__unit__level=LAB_LEVEL,
            report__unit__is_active=True).values_list("report_id", "module", "status"):
        statuses.setdefault(report_id, {})[module] = status
    reports = (CarbonReport.objects.filter(pk__in=statuses).select_related("unit")
               .order_by("unit__path_name"))
    for report in reports:
        got = statuses[report.pk]
        matrix.rows.append(LabRow(unit=report.unit, statuses=[
            ModuleStatus(got.get(m.value, ModuleStatus.NOT_STARTED)) for m in modules]))
    return matrix


def validations_per_day(*, year: int, units: QuerySet[Unit]) -> list[tuple[date, int]]:
    """(day, module validations that day) for the year's module reports of these units, oldest day first.

    A validation is a history row with status "validated" whose previous row of the same module report has
    another status (or none): re-saving a validated module is not a new validation.
    """
    history = ModuleReport.history.model
    report_ids = list(CarbonReport.objects.filter(year_id=year, unit__in=units).values_list("pk", flat=True))
    if not report_ids:
        return []
    table = connection.ops.quote_name(history._meta.db_table)
    sql = f"""
        SELECT (history_date AT TIME ZONE %s)::date AS day, count(*)
        FROM (SELECT history_date, status,
                     lag(status) OVER (PARTITION BY id ORDER BY history_date, history_id) AS previous
              FROM {table} WHERE report_id = ANY(%s)) AS changes
        WHERE status = %s AND previous IS DISTINCT FROM %s
        GROUP BY day ORDER BY day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), report_ids, ModuleStatus.VALIDATED.value,
                             ModuleStatus.VALIDATED.value])
        return [(day, count) for day, count in cursor.fetchall()]


@dataclass(frozen=True)
class YearFootprint:
    year: int
    all_kg: Decimal
    validated_kg: Decimal


@dataclass(frozen=True)
class ObjectivePoint:
    objective: ReductionObjective
    reference_kg: Decimal | None  # the footprint (all data) of the reference year; None when it has no data

    @property
    def target_kg(self) -> Decimal | None:
        if self.reference_kg is None:
            return None
        return self.reference_kg * (1 - self.objective.reduction_percentage)


@dataclass
class Trajectory:
    years: list[YearFootprint]
    objectives: list[ObjectivePoint]


def trajectory(*, year: int, units: QuerySet[Unit]) -> Trajectory:
    """The footprint of `units` in every year that has emission rows, and the objectives set for `year`."""
    rows = Emission.objects.filter(unit__in=units)
    all_kg = dict(rows.values_list("year").order_by("year").annotate(kg=Sum("kg_co2eq")))
    validated = dict(rows.filter(module_report__status=ModuleStatus.VALIDATED).values_list("year")
                     .order_by("year").annotate(kg=Sum("kg_co2eq")))
    years = [YearFootprint(y, all_kg[y], validated.get(y, Decimal(0))) for y in sorted(all_kg)]
    objectives = [ObjectivePoint(o, all_kg.get(o.reference_year))
                  for o in ReductionObjective.objects.filter(year_id=year).order_by("target_year", "reference_year")]
    return Trajectory(years=years, objectives=objectives)
