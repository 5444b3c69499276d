"""Writes on years and reports: create a year (every unit's report and its modules), open it."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from carbon.models import CarbonReport, ModuleReport, ModuleSetting, SubmoduleSetting, YearConfiguration
from carbon.taxonomy import Module, entry_kinds
from infra.history import bulk_create_with_history
from units.models import Unit

__all__ = ["YearCreated", "blockers_summary", "year_create", "year_create_reports", "year_open",
           "year_open_blockers"]


def configurable_kinds():
    """Every kind of the catalogue but the derived ones (embodied energy follows from the building rooms, it
    is never entered): one submodule setting each."""
    return [kind for kind in entry_kinds() if not kind.is_derived]


@dataclass(frozen=True)
class YearCreated:
    year: YearConfiguration
    reports_created: int
    module_reports_created: int


@transaction.atomic
def year_create(*, year: int, actor=None) -> YearCreated:
    """Create (or complete) a year: settings, and a report with eight module reports per active unit.

    Idempotent: running it again only adds what is missing (units added since), then stamps
    `configuration_completed`.
    """
    reason = f"create year {year}"
    config, _ = YearConfiguration.objects.select_for_update().get_or_create(year=year)
    have_modules = set(ModuleSetting.objects.filter(year=config).values_list("module", flat=True))
    bulk_create_with_history(
        [ModuleSetting(year=config, module=m) for m in Module if m not in have_modules],
        ModuleSetting, default_user=actor, default_change_reason=reason,
    )
    have_kinds = set(SubmoduleSetting.objects.filter(year=config).values_list("kind", flat=True))
    bulk_create_with_history(
        [SubmoduleSetting(year=config, kind=k) for k in configurable_kinds() if k not in have_kinds],
        SubmoduleSetting, default_user=actor, default_change_reason=reason,
    )
    active = Unit.objects.filter(is_active=True).values_list("pk", flat=True)
    reports_created, module_reports_created = year_create_reports(year=year, unit_ids=active, actor=actor,
                                                                  reason=reason)
    config.configuration_completed = timezone.now()
    config._change_reason = reason
    if actor is not None:
        config._history_user = actor
    config.save()
    return YearCreated(year=config, reports_created=reports_created, module_reports_created=module_reports_created)


def year_create_reports(*, year: int, unit_ids, actor=None, reason: str = "") -> tuple[int, int]:
    """Create the missing reports (and their eight module reports) of these units for a year."""
    have_units = set(CarbonReport.objects.filter(year_id=year).values_list("unit_id", flat=True))
    new_reports = [CarbonReport(unit_id=unit_id, year_id=year) for unit_id in unit_ids if unit_id not in have_units]
    reason = reason or f"reports created for {year}"
    bulk_create_with_history(new_reports, CarbonReport, default_user=actor, default_change_reason=reason)
    report_ids = list(CarbonReport.objects.filter(year_id=year, unit_id__in=[r.unit_id for r in new_reports])
                      .values_list("pk", flat=True))
    module_reports = [ModuleReport(report_id=rid, module=m) for rid in report_ids for m in Module]
    bulk_create_with_history(module_reports, ModuleReport, default_user=actor, default_change_reason=reason,
                             batch_size=5000)
    return len(new_reports), len(module_reports)


# Later apps add checks here (reporting adds "no module is incomplete"): callable(config) -> [reasons], each
# reason one sentence a person reads (e.g. "No plane factors for 2026 — upload them.").
OPEN_YEAR_CHECKS: list = []
BLOCKERS_SHOWN = 3  # a refusal lists this many reasons and counts the rest: the year's page lists them all


def year_open_blockers(config: YearConfiguration) -> list[str]:
    """Why a year cannot be opened yet (empty when it can)."""
    blockers = []
    if config.configuration_completed is None:
        blockers.append(gettext("The year's configuration is not completed (create the year's reports first)."))
    for check in OPEN_YEAR_CHECKS:
        blockers.extend(check(config))
    return blockers


def blockers_summary(blockers: list[str]) -> str:
    """A short list, not a wall: "3 things are missing: A B C" or "24 things are missing: A B C … and 21 more
    (the year's page lists them all)"."""
    count = len(blockers)
    text = ngettext("%(count)d thing is missing: %(list)s", "%(count)d things are missing: %(list)s", count) % {
        "count": count, "list": " ".join(blockers[:BLOCKERS_SHOWN])}
    if count > BLOCKERS_SHOWN:
        text += " " + gettext("… and %(more)d more (the year's page lists them all).") % {
            "more": count - BLOCKERS_SHOWN}
    return text


@transaction.atomic
def year_open(*, year: int, actor=None) -> YearConfiguration:
    config = YearConfiguration.objects.select_for_update().filter(year=year).first()
    if config is None:
        raise ValidationError(f"Year {year} does not exist; create it first.")
    if config.is_started:
        return config
    blockers = year_open_blockers(config)
    if blockers:
        raise ValidationError(gettext("Year %(year)s cannot be opened.") % {"year": year} + " "
                              + blockers_summary(blockers))
    config.is_started = True
    config._change_reason = f"open year {year}"
    if actor is not None:
        config._history_user = actor
    config.save()
    return config
