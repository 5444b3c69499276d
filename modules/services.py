"""Writes on a unit's modules: entries entered by hand or through the API, and validation by the unit's
principal (or a script)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from carbon.models import ModuleReport, ModuleStatus
from carbon.taxonomy import Module
from infra.events import emit
from infra.history import actor_label, history_user
from modules.base import Entry, EntrySource
from modules.engine import (
    dependants_recompute,
    emissions_delete,
    entries_recompute,
    module_reports_touched,
    stats_refresh,
)
from modules.registry import ComputeContext, EntryKindSpec
from modules.rows import entry_cells, single_row_values

__all__ = ["EntryWritten", "entry_create", "entry_delete", "entry_update", "module_validate"]


@transaction.atomic
def module_validate(*, unit_cf: str, year: int, module: Module, actor=None, undo: bool = False,
                    source: str = "command", request=None) -> ModuleReport:
    """Validate a module (or put it back in progress with `undo`). History records who and why; an audit
    event records it too, with `source` (lab, api, command)."""
    module_report = (ModuleReport.objects.select_for_update(of=("self",))
                     .filter(report__unit__institutional_id=unit_cf, report__year_id=year, module=module.value)
                     .first())
    if module_report is None:
        raise ValidationError(f"no {module.name} report for unit {unit_cf} in {year}")
    was_validated = module_report.status == ModuleStatus.VALIDATED
    module_report.status = ModuleStatus.IN_PROGRESS if undo else ModuleStatus.VALIDATED
    module_report._change_reason = "module un-validated" if undo else "module validated"
    if not undo:
        module_report.reopened_at, module_report.reopened_by, module_report.reopened_reason = None, None, ""
    elif was_validated:
        module_report.reopened_at, module_report.reopened_by = timezone.now(), actor
        module_report.reopened_reason = "module un-validated"
    if actor is not None:
        module_report._history_user = actor
    module_report.save()
    stats_refresh([module_report.pk])
    emit("module_unvalidated" if undo else "module_validated", source=source, actor=history_user(actor),
         actor_label=actor_label(actor), unit=module_report.report.unit, obj=module_report, request=request,
         year=year, module=module.name, previous_status=ModuleStatus.VALIDATED if was_validated else "")
    return module_report


# --- entries entered by hand or through the API ----------------------------------------------------------
@dataclass(frozen=True)
class EntryWritten:
    entry: Entry | None  # None after a delete
    warnings: list  # RowWarning: accepted, but the user should know (e.g. a traveller not in the headcount)
    reopened: bool  # the write put a validated module back in progress (decision 7)


def _module_report_locked(spec: EntryKindSpec, unit, year: int) -> ModuleReport:
    module_report = (ModuleReport.objects.select_for_update(of=("self",))
                     .filter(report__unit=unit, report__year_id=year, module=spec.module.value).first())
    if module_report is None:
        raise ValidationError(f"unit {unit.institutional_id} has no report for {year}")
    return module_report


def _after_entry_change(spec: EntryKindSpec, module_report: ModuleReport, year: int, actor, reason: str) -> bool:
    """What every single-entry write is followed by: the module back in progress, the kinds that depend on
    this one recomputed, the statistics refreshed. Returns whether a validated module was reopened."""
    reopened = module_report.status == ModuleStatus.VALIDATED
    module_reports_touched([module_report.pk], actor=actor, reason=reason)
    recomputed: set[int] = set()
    dependants_recompute([spec.name], year=year, refresh_stats=False, touched=recomputed, actor=actor)
    stats_refresh({module_report.pk} | recomputed)
    return reopened


def _kind_locked(spec: EntryKindSpec) -> None:
    """ROW EXCLUSIVE on the kind's table (what the write takes anyway) *before* the module report's row lock: the
    order a per-year import takes them in (SHARE ROW EXCLUSIVE on the table, then module reports), so an edit
    during an import waits for it instead of deadlocking with it (`modules.fingerprints.entries_lock`)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(spec.model._meta.db_table)} IN ROW EXCLUSIVE MODE")


def _save(entry: Entry, actor, reason: str) -> None:
    entry._history_user, entry._change_reason = actor, reason
    entry.full_clean(exclude=["module_report", "created_by"])
    entry.save()


@transaction.atomic
def entry_create(spec: EntryKindSpec, *, unit, year: int, cells: dict[str, str], actor,
                 source: int = EntrySource.USER_MANUAL) -> EntryWritten:
    """Create one entry of a unit's year from its cells (the CSV contract's columns); raises EntryInvalid."""
    _kind_locked(spec)
    module_report = _module_report_locked(spec, unit, year)
    values, warnings = single_row_values(spec, cells, unit=unit, year=year)
    entry = spec.model(module_report=module_report, source=source, created_by=actor, **values)
    reason = f"{spec.name} entered"
    _save(entry, actor, reason)
    entries_recompute(spec, [entry], ComputeContext(year=year))
    reopened = _after_entry_change(spec, module_report, year, actor, reason)
    entry.refresh_from_db()
    return EntryWritten(entry, warnings, reopened)


@transaction.atomic
def entry_update(spec: EntryKindSpec, entry: Entry, *, cells: dict[str, str], actor) -> EntryWritten:
    """Change an entry: `cells` are the columns sent, over the entry's current ones; raises EntryInvalid."""
    _kind_locked(spec)
    module_report = ModuleReport.objects.select_for_update(of=("self",)).select_related("report__unit").get(
        pk=entry.module_report_id)
    unit, year = module_report.report.unit, module_report.report.year_id
    values, warnings = single_row_values(spec, {**entry_cells(spec, entry), **cells}, unit=unit, year=year,
                                         replacing=entry.pk)
    for name, value in values.items():
        setattr(entry, name, value)
    reason = f"{spec.name} changed"
    _save(entry, actor, reason)
    entries_recompute(spec, [entry], ComputeContext(year=year))
    reopened = _after_entry_change(spec, module_report, year, actor, reason)
    entry.refresh_from_db()
    return EntryWritten(entry, warnings, reopened)


@transaction.atomic
def entry_delete(spec: EntryKindSpec, entry: Entry, *, actor) -> EntryWritten:
    _kind_locked(spec)
    module_report = (ModuleReport.objects.select_for_update(of=("self",)).select_related("report")
                     .get(pk=entry.module_report_id))
    reason = f"{spec.name} deleted"
    emissions_delete(spec, [entry.pk])
    entry._history_user, entry._change_reason = actor, reason
    entry.delete()
    reopened = _after_entry_change(spec, module_report, module_report.report.year_id, actor, reason)
    return EntryWritten(None, [], reopened)
