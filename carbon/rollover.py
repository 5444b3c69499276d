"""Year rollover ("start from last year"): create year N+1 from year N.

A new campaign year needs the same configuration as the last one except what truly changes (the labs' data):
module and submodule settings with their thresholds, the reduction objectives, and — registered by the apps
above `carbon` — every factor kind's factors and the per-year reference data. Each copied row carries
`copied_from_year` (listed in the admin with a "copied from last year" filter, still editable) and its
history row the reason "copied from N".

Why a hook list (`ROLLOVER_COPIES`) rather than one function that knows everything: factors live in the
`factors` app, above `carbon` in the layers, so `factors` registers its copier (`factors.rollover`) when it
starts, as `reporting` registers its open-year check. The carbon admin and the command then need only this.

Refusing rather than merging: rolling over into a year that already holds data (factors, objectives,
emissions, copied settings) or is already open would mix two origins; the answer is a clear error and
nothing written. A year that exists only as the empty skeleton of `year_create` may be rolled over into:
its settings take last year's values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from carbon.models import Emission, ModuleSetting, ReductionObjective, SubmoduleSetting, YearConfiguration
from carbon.services import year_create
from infra.history import bulk_create_with_history, bulk_update_with_history

__all__ = ["ROLLOVER_COPIES", "RolloverCopy", "YearRolledOver", "rollover_reason", "year_rollover",
           "year_rollover_refusals"]


@dataclass(frozen=True)
class RolloverCopy:
    """One copier registered by a higher layer: what it copies and whether the target year already has it."""

    name: str  # e.g. "factors"
    copy: Callable[..., dict[str, int]]  # (source, target, actor, reason) -> {label: rows copied}
    existing: Callable[[int], list[str]]  # (target) -> what the target already holds, in words ([] = nothing)


# Registered by the apps above carbon (factors: every factor kind and the exchange rates).
ROLLOVER_COPIES: list[RolloverCopy] = []


@dataclass
class YearRolledOver:
    source: int
    target: int
    reports_created: int
    copied: dict[str, int] = field(default_factory=dict)  # label -> rows copied

    @property
    def total_copied(self) -> int:
        return sum(self.copied.values())


def rollover_reason(source: int) -> str:
    return f"copied from {source}"


def year_rollover_refusals(*, source: int, target: int) -> list[str]:
    """Why `source` cannot be rolled over into `target` (empty when it can)."""
    refusals = []
    if target != source + 1:
        refusals.append(gettext("a year is started from the year before it (%(target)s from %(previous)s, not from "
                                "%(source)s)") % {"target": target, "previous": target - 1, "source": source})
    if not YearConfiguration.objects.filter(year=source, configuration_completed__isnull=False).exists():
        refusals.append(gettext("year %(year)s does not exist or is not configured") % {"year": source})
    config = YearConfiguration.objects.filter(year=target).first()
    if config is None:
        return refusals
    if config.is_started:
        refusals.append(gettext("year %(year)s is already open") % {"year": target})
    held = []
    if ModuleSetting.objects.filter(year=target, copied_from_year__isnull=False).exists() or \
            SubmoduleSetting.objects.filter(year=target, copied_from_year__isnull=False).exists():
        held.append(gettext("settings already copied"))
    if ReductionObjective.objects.filter(year=target).exists():
        held.append(gettext("reduction objectives"))
    if Emission.objects.filter(year=target).exists():
        held.append(gettext("emissions"))
    for copier in ROLLOVER_COPIES:
        held.extend(copier.existing(target))
    if held:
        refusals.append(gettext("year %(year)s already has data (%(what)s)") % {"year": target,
                                                                                 "what": ", ".join(held)})
    return refusals


@transaction.atomic
def year_rollover(*, source: int, target: int, actor=None) -> YearRolledOver:
    """Create `target` (= source + 1) from `source`: reports, settings, objectives, factors, per-year reference
    data. All or nothing; refused (ValidationError, nothing written) when `target` already has data."""
    # Lock the source year's row: two rollovers at once serialize here and the second one is refused.
    YearConfiguration.objects.select_for_update().filter(year__in=[source, target]).exists()
    refusals = year_rollover_refusals(source=source, target=target)
    if refusals:
        raise ValidationError(gettext("Year %(target)s cannot be started from %(source)s: %(reasons)s.") % {
            "target": target, "source": source, "reasons": "; ".join(refusals)})
    reason = rollover_reason(source)
    created = year_create(year=target, actor=actor)
    result = YearRolledOver(source=source, target=target, reports_created=created.reports_created)
    result.copied["module settings"] = _copy_settings(ModuleSetting, "module", ("enabled", "uncertainty_tag"),
                                                      source, target, actor, reason)
    result.copied["submodule settings"] = _copy_settings(
        SubmoduleSetting, "kind", ("enabled", "threshold", "inputs_deactivated"), source, target, actor, reason)
    objectives = [ReductionObjective(year_id=target, target_year=o.target_year, reference_year=o.reference_year,
                                     reduction_percentage=o.reduction_percentage, copied_from_year=source)
                  for o in ReductionObjective.objects.filter(year=source)]
    bulk_create_with_history(objectives, ReductionObjective, default_user=actor, default_change_reason=reason)
    result.copied["reduction objectives"] = len(objectives)
    for copier in ROLLOVER_COPIES:
        result.copied.update(copier.copy(source=source, target=target, actor=actor, reason=reason))
    return result


def _copy_settings(model, key: str, fields: tuple[str, ...], source: int, target: int, actor, reason: str) -> int:
    """Give the target year's settings (created by `year_create`) the source year's values, marked copied."""
    previous = {getattr(s, key): s for s in model.objects.filter(year=source)}
    changed = []
    for setting in model.objects.filter(year=target):
        old = previous.get(getattr(setting, key))
        if old is None:  # a kind or module new this year keeps its defaults
            continue
        for name in fields:
            setattr(setting, name, getattr(old, name))
        setting.copied_from_year = source
        changed.append(setting)
    bulk_update_with_history(changed, model, [*fields, "copied_from_year"], default_user=actor,
                             default_change_reason=reason)
    return len(changed)
