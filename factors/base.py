"""What every factor kind has in common, the registry of factor kinds, and their CSV import.

A factor is identified by (year, its classification columns). Re-importing a factor file upserts on
that identity — ids survive, so emission rows keep pointing at their factor — and factors missing
from the new file are flagged stale, never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.bulk import copy_history, copy_insert
from infra.csvio import ColumnSpec, RowError, read_csv
from infra.importing import BaseImporter, ImportOutcome, ImportRequest, collect_rows, register

__all__ = ["FACTOR_KINDS", "Factor", "FactorImporter", "FactorKindSpec", "register_factor_kind"]


class Factor(models.Model):
    """Abstract base of every factor kind: per year, with the stale flag of the last re-import."""

    year = models.PositiveSmallIntegerField(db_index=True)
    is_stale = models.BooleanField(default=False, help_text=_("Missing from the latest import of this kind."))
    last_import_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the year rollover ("start from last year"): the year this factor was copied from. Still editable;
    # cleared when the year's own file of the kind brings the factor again.
    copied_from_year = models.PositiveSmallIntegerField(_("copied from year"), null=True, blank=True,
                                                        editable=False)

    class Meta:
        abstract = True

    def values_used(self) -> dict:
        """The factor's numbers, copied onto each emission row that used them (computed once per
        loaded factor: a recalculation asks for it once per entry)."""
        cached = self.__dict__.get("_values_used")
        if cached is None:
            cached = self.__dict__["_values_used"] = {
                f.name: _jsonable(getattr(self, f.name)) for f in self._meta.concrete_fields
                if f.name in self.VALUE_FIELDS}
        return cached

    VALUE_FIELDS: tuple[str, ...] = ()


def _jsonable(value):
    return str(value) if isinstance(value, Decimal) else value


def non_negative():
    return [MinValueValidator(0)]


@dataclass
class FactorKindSpec:
    """One factor kind: its model, its CSV columns, its identity, and the entry kinds it serves.

    `recalculates` is not declared here: each entry kind names its factor kinds (`EntryKindSpec.factor_kinds`,
    the one declaration of the link) and the modules app fills in this inverse when it registers the kind.
    """

    name: str  # the entry kind it serves, as in `factors:<name>`
    model: type[Factor]
    columns: tuple[ColumnSpec, ...]
    identity: tuple[str, ...]  # classification fields (besides year) that identify a factor
    parse_row: Callable[[dict[str, str]], dict]  # → model field values; raises CellError(column=…)
    recalculates: tuple[str, ...] = field(default=(), init=False)  # entry kinds to recompute on a change

    @property
    def import_name(self) -> str:
        return f"factors:{self.name}"


FACTOR_KINDS: dict[str, FactorKindSpec] = {}


def register_factor_kind(spec: FactorKindSpec) -> FactorKindSpec:
    FACTOR_KINDS[spec.name] = spec
    register(FactorImporter(spec))
    return spec


class FactorImporter(BaseImporter):
    """`import_csv factors:<kind> FILE --year YEAR`: validate all, then upsert + flag stale."""

    needs_year = True
    accepts_unit = False

    def __init__(self, spec: FactorKindSpec):
        self.spec = spec
        self.name = spec.import_name

    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> list[tuple[int, dict]]:
        spec = self.spec
        rows = collect_rows(read_csv(request.source, columns=spec.columns), outcome,
                            lambda row: (row.number, spec.parse_row(row.values)), list(spec.columns))
        parsed: list[tuple[int, dict]] = []
        seen: dict[tuple, int] = {}
        for number, values in rows:
            key = tuple(values.get(f) for f in spec.identity)
            if key in seen:
                reason = f"duplicate factor {_key_text(spec, key)} (also on row {seen[key]})"
                outcome.errors.append(RowError(number, spec.identity[0], reason))
                continue
            seen[key] = number
            parsed.append((number, values))
        return parsed

    def write(self, request: ImportRequest, plan: list[tuple[int, dict]], outcome: ImportOutcome) -> None:
        from carbon.models import RecalculationState

        spec = self.spec
        stale = self._upsert(request.year, [v for _, v in plan], outcome, request.actor)
        if outcome.created or outcome.updated or stale:
            RecalculationState.factors_changed(year=request.year, kinds=spec.recalculates, actor=request.actor,
                                               reason=f"{self.name} import")
        if stale:
            outcome.warnings.append(_stale_warning(spec, stale))

    def after_write(self, request: ImportRequest, plan, outcome: ImportOutcome) -> None:
        if request.defer_followups:
            outcome.recalculate = list(self.spec.recalculates)
        else:
            self._recalculate(request.year)

    def _upsert(self, year: int, rows: list[dict], outcome: ImportOutcome, actor) -> list:
        spec, model = self.spec, self.spec.model
        reason = f"{self.name} import"
        now = timezone.now()
        existing = {tuple(getattr(f, k) for k in spec.identity): f
                    for f in model.objects.select_for_update().filter(year=year)}
        new, changed, seen = [], [], set()
        for values in rows:
            key = tuple(values.get(k) for k in spec.identity)
            seen.add(key)
            factor = existing.get(key)
            if factor is None:
                new.append(model(year=year, last_import_at=now, updated_at=now, **values))
                continue
            # A factor copied by the year rollover and now in the year's own file is no longer "copied".
            differs = (factor.is_stale or factor.copied_from_year is not None
                       or any(getattr(factor, k) != v for k, v in values.items()))
            factor.last_import_at = now
            if differs:
                for k, v in values.items():
                    setattr(factor, k, v)
                factor.is_stale = False
                factor.copied_from_year = None
                changed.append(factor)
            else:
                outcome.unchanged += 1
        stale = [f for key, f in existing.items() if key not in seen and not f.is_stale]
        for factor in stale:
            factor.is_stale = True
        copy_insert(model, new)
        copy_history(model, new, history_type="+", user=actor, reason=reason)
        fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        model.objects.bulk_update(changed + stale, fields, batch_size=2000)
        copy_history(model, changed + stale, history_type="~", user=actor, reason=reason)
        model.objects.filter(year=year, is_stale=False).update(last_import_at=now)
        outcome.created, outcome.updated = len(new), len(changed)
        return stale

    def _recalculate(self, year: int) -> None:
        from factors.signals import factors_changed

        # The modules recompute their entries (modules.engine.on_factors_changed): factors never import them.
        factors_changed.send(sender=self.spec.model, kinds=tuple(self.spec.recalculates), year=year)


def _key_text(spec: FactorKindSpec, key: tuple) -> str:
    return "(" + ", ".join(f"{f}={v!r}" for f, v in zip(spec.identity, key, strict=True)) + ")"


def _stale_warning(spec: FactorKindSpec, stale: list):
    from infra.csvio import RowWarning

    listed = "; ".join(_key_text(spec, tuple(getattr(f, k) for k in spec.identity)) for f in stale[:20])
    more = f" and {len(stale) - 20} more" if len(stale) > 20 else ""
    return RowWarning(None, None, f"{len(stale)} factors missing from this file are now flagged stale "
                                  f"(kept, still used): {listed}{more}")
