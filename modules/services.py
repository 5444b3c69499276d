"""Writes on module reports: validation by the unit's principal (or a script)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from carbon.models import ModuleReport, ModuleStatus
from carbon.taxonomy import Module

__all__ = ["module_validate"]


@transaction.atomic
def module_validate(*, unit_cf: str, year: int, module: Module, actor=None, undo: bool = False) -> ModuleReport:
    """Validate a module (or put it back in progress with `undo`). History records who and why."""
    module_report = (ModuleReport.objects.select_for_update()
                     .filter(report__unit__institutional_id=unit_cf, report__year_id=year, module=module.value)
                     .first())
    if module_report is None:
        raise ValidationError(f"no {module.name} report for unit {unit_cf} in {year}")
    module_report.status = ModuleStatus.IN_PROGRESS if undo else ModuleStatus.VALIDATED
    module_report._change_reason = "module un-validated" if undo else "module validated"
    if actor is not None:
        module_report._history_user = actor
    module_report.save()
    from modules.engine import stats_refresh

    stats_refresh([module_report.pk])
    return module_report
