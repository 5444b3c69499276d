"""The factors' part of the year rollover (`carbon.rollover`): every factor kind's factors and the exchange
rates of year N copied to year N+1, marked `copied_from_year`, history reason "copied from N".
Exchange rates already present for N+1 (published early) are kept; only missing currencies are copied.

Registered in `carbon.rollover.ROLLOVER_COPIES` by `FactorsConfig.ready`. The factor kinds come from the
registry (`FACTOR_KINDS`), so a kind added later is copied without a change here. Locations and building
rooms are not per year: nothing to copy.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from carbon.rollover import RolloverCopy
from factors.base import FACTOR_KINDS
from factors.models import ExchangeRate
from infra.bulk import copy_history, copy_insert

__all__ = ["FACTORS_ROLLOVER", "factors_copy", "factors_existing"]

# Columns that describe a row's own life, not its values: not carried over.
_NOT_COPIED = {"id", "year", "last_import_at", "updated_at", "copied_from_year"}


def factors_existing(target: int) -> list[str]:
    """The factor kinds the target year already has, in words. (Exchange rates are not listed: the reference
    file often brings next year's rates early; the rollover copies only the currencies still missing.)"""
    held = [name for name, spec in FACTOR_KINDS.items() if spec.model.objects.filter(year=target).exists()]
    if not held:
        return []
    names = ", ".join(held[:3])
    if len(held) > 3:
        names = gettext("%(names)s and %(more)d more") % {"names": names, "more": len(held) - 3}
    return [ngettext("factors of %(count)d kind: %(names)s", "factors of %(count)d kinds: %(names)s", len(held))
            % {"count": len(held), "names": names}]


def factors_copy(*, source: int, target: int, actor=None, reason: str) -> dict[str, int]:
    """Copy every factor of every kind, stale flags included (a stale factor is still used), and the rates of
    the currencies the target year does not have yet."""
    now = timezone.now()
    copied = {}
    for name, spec in FACTOR_KINDS.items():
        model = spec.model
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in _NOT_COPIED]
        rows = [model(year=target, copied_from_year=source, updated_at=now, last_import_at=None,
                      **{f: getattr(old, f) for f in fields})
                for old in model.objects.filter(year=source).order_by("pk")]
        copy_insert(model, rows)
        copy_history(model, rows, history_type="+", user=actor, reason=reason)
        copied[f"{name} factors"] = len(rows)
    rates = [ExchangeRate(year=target, currency=r.currency, units_per_eur=r.units_per_eur, copied_from_year=source)
             for r in ExchangeRate.objects.filter(year=source).exclude(
                 currency__in=ExchangeRate.objects.filter(year=target).values("currency")).order_by("currency")]
    copy_insert(ExchangeRate, rates)
    copy_history(ExchangeRate, rates, history_type="+", user=actor, reason=reason)
    copied["exchange rates"] = len(rates)
    return copied


FACTORS_ROLLOVER = RolloverCopy(name="factors", copy=factors_copy, existing=factors_existing)
