"""The results of one unit and year, as the lab side shows them (product.md §5 decisions 9, 17).

Only **validated** modules count (decision 9). Totals always include embodied energy, which is also its own
category (decision 17). FTE is Σ `fte` of the validated headcount module's members and students
(decision 17, reference-reporting.md §1.4). The previous year is the same unit's report of `year - 1`, over
the modules validated in that year (reference-reporting.md §1.2).

Everything is a `Decimal` computed exactly from the database sums (numeric, 6 decimals): no rounding
happens here; the serializer (`reporting/serializers.py`) rounds for display.

Queries: at most three whatever the size of the unit: module reports (with FTE and module settings as
subqueries), one GROUP BY over the emission rows of the validated module reports of both years, and —
only when the unit has no module report for the year — whether its report exists at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import BooleanField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from carbon import taxonomy
from carbon.emissions import emission_sums
from carbon.models import CarbonReport, ModuleReport, ModuleSetting, ModuleStatus
from carbon.taxonomy import CATEGORIES, CATEGORY_LABELS, Module
from modules.headcount.models import Member, Student

__all__ = ["CategoryResult", "MissingModule", "ModuleResult", "ScopeResult", "UnitResults", "car_km_factor",
           "change_percent", "unit_results"]

_THOUSAND = Decimal(1000)
_HUNDRED = Decimal(100)


def _category_module(category: str) -> Module:
    """The module whose validation shows a category (food, waste, commuting → headcount; embodied energy
    → buildings). Every category's leaves belong to one module: checked at import."""
    modules = {leaf.module for leaf in taxonomy.leaves_of_category(category)}
    if len(modules) != 1:  # pragma: no cover - a taxonomy change would break the results page
        raise ImproperlyConfigured(f"category {category!r} spans modules {sorted(modules)}")
    return modules.pop()


CATEGORY_MODULES: dict[str, Module] = {category: _category_module(category) for category in CATEGORIES}


def status_name(status: int) -> str:
    """ModuleStatus → the API's word: `not_started`, `in_progress`, `validated`."""
    return ModuleStatus(status).name.lower()


@dataclass(frozen=True)
class ScopeResult:
    scope: int
    kg: Decimal | None  # None when no module is validated

    @property
    def t(self) -> Decimal | None:
        return _tonnes(self.kg)


@dataclass(frozen=True)
class CategoryResult:
    category: str  # one of carbon.taxonomy.CATEGORIES
    label: str
    module: Module  # the module that must be validated for this category to show
    validated: bool
    kg: Decimal | None  # None when `module` is not validated
    # The category's kg split by scope (the scopes it has rows in, in scope order); empty when not validated.
    # Only buildings spans two scopes (rooms 2, combustion 1): the stacked bar of the results page needs it.
    by_scope: tuple[ScopeResult, ...] = ()

    @property
    def t(self) -> Decimal | None:
        return _tonnes(self.kg)


@dataclass(frozen=True)
class ModuleResult:
    module: Module
    status: ModuleStatus
    enabled: bool  # the year's module setting
    kg: Decimal | None  # None unless validated
    previous_kg: Decimal | None  # None unless validated in year - 1
    change_percent: Decimal | None  # (kg − previous) / previous × 100, only when previous > 0
    car_km: Decimal | None
    t_per_fte: Decimal | None

    @property
    def validated(self) -> bool:
        return self.status == ModuleStatus.VALIDATED

    @property
    def t(self) -> Decimal | None:
        return _tonnes(self.kg)

    @property
    def previous_t(self) -> Decimal | None:
        return _tonnes(self.previous_kg)


@dataclass(frozen=True)
class MissingModule:
    """An enabled module that is not validated: its results are hidden until it is."""

    module: Module
    status: ModuleStatus

    @property
    def message(self) -> str:
        """In the active language (the module's name is a catalogue entry of lab/labels.py)."""
        return gettext("Validate %(module)s to see its results.") % {"module": gettext(self.module.label)}


@dataclass(frozen=True)
class UnitResults:
    unit_institutional_id: str
    year: int
    previous_year: int
    validated_modules: int
    module_count: int
    total_kg: Decimal | None  # None (not 0) when no module is validated
    previous_total_kg: Decimal | None  # None when no report of year - 1 or nothing validated in it
    change_percent: Decimal | None
    fte: Decimal | None  # None when headcount is not validated
    kg_per_fte: Decimal | None  # None when the FTE is unknown or ≤ 0, or no total
    car_km: Decimal | None
    car_km_kg_co2eq_per_km: Decimal
    car_km_source: str
    scopes: list[ScopeResult]
    categories: list[CategoryResult]
    modules: list[ModuleResult]
    missing: list[MissingModule]

    @property
    def total_t(self) -> Decimal | None:
        return _tonnes(self.total_kg)

    @property
    def previous_total_t(self) -> Decimal | None:
        return _tonnes(self.previous_total_kg)

    @property
    def t_per_fte(self) -> Decimal | None:
        return _tonnes(self.kg_per_fte)


def _tonnes(kg: Decimal | None) -> Decimal | None:
    return None if kg is None else kg / _THOUSAND


def change_percent(kg: Decimal | None, previous_kg: Decimal | None) -> Decimal | None:
    """Year-over-year change in %: (kg − previous) / previous × 100, only when both exist and previous > 0."""
    if kg is None or previous_kg is None or previous_kg <= 0:
        return None
    return (kg - previous_kg) / previous_kg * _HUNDRED


def car_km_factor() -> Decimal:
    """kg CO2-eq per car-km (setting `CAR_KM_KG_CO2EQ_PER_KM`); must be > 0."""
    factor = Decimal(str(getattr(settings, "CAR_KM_KG_CO2EQ_PER_KM", Decimal("0.17"))))
    if not factor.is_finite() or factor <= 0:
        raise ImproperlyConfigured(f"CAR_KM_KG_CO2EQ_PER_KM must be a number above 0, not {factor}")
    return factor


def _per(kg: Decimal | None, divisor: Decimal | None) -> Decimal | None:
    if kg is None or divisor is None or divisor <= 0:
        return None
    return kg / divisor


def _fte_sum(model) -> Subquery:
    """Σ fte of one module report's entries of `model` (NULL when it has none)."""
    return Subquery(model.objects.filter(module_report=OuterRef("pk")).order_by().values("module_report")
                    .annotate(total=Sum("fte")).values("total"))


def unit_results(unit, year: int) -> UnitResults:
    """The results of `unit` (a `units.Unit`) for `year`, over validated modules only.

    Raises `CarbonReport.DoesNotExist` when the unit has no report for that year. The caller checks that
    the user may see this unit (`unit_scope`); this function reads, it does not authorise.
    """
    factor = car_km_factor()
    previous_year = year - 1
    enabled = Coalesce(Subquery(ModuleSetting.objects.filter(year_id=OuterRef("report__year_id"),
                                                              module=OuterRef("module")).values("enabled")[:1]),
                       Value(True), output_field=BooleanField())
    rows = list(ModuleReport.objects.filter(report__unit_id=unit.pk, report__year_id__in=(year, previous_year))
                .annotate(enabled_setting=enabled, member_fte=_fte_sum(Member), student_fte=_fte_sum(Student))
                .values_list("pk", "report__year_id", "module", "status", "enabled_setting", "member_fte",
                             "student_fte"))
    if not any(row[1] == year for row in rows) and not CarbonReport.objects.filter(
            unit_id=unit.pk, year_id=year).exists():
        raise CarbonReport.DoesNotExist(f"no report for unit {unit.institutional_id} in {year}")

    current = {Module(row[2]): row for row in rows if row[1] == year}
    previous = {Module(row[2]): row for row in rows if row[1] == previous_year}
    validated_now = {m: row[0] for m, row in current.items() if row[3] == ModuleStatus.VALIDATED}
    validated_before = {m: row[0] for m, row in previous.items() if row[3] == ModuleStatus.VALIDATED}

    # One GROUP BY (module report, emission type) over the validated module reports of both years.
    kg_by_module_report: dict[int, Decimal] = defaultdict(Decimal)
    scope_kg: dict[int, Decimal] = {1: Decimal(0), 2: Decimal(0), 3: Decimal(0)}
    category_kg: dict[str, Decimal] = {category: Decimal(0) for category in CATEGORIES}
    category_scope_kg: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    current_ids = set(validated_now.values())
    ids = [*validated_now.values(), *validated_before.values()]
    for module_report_id, emission_type, kg, _quantity in (emission_sums(ids) if ids else []):
        kg_by_module_report[module_report_id] += kg
        if module_report_id in current_ids:
            scope, category = taxonomy.scope_of(emission_type), taxonomy.category_of(emission_type)
            scope_kg[scope] += kg
            category_kg[category] += kg
            category_scope_kg[category, scope] += kg

    def module_kg(validated: dict[Module, int], module: Module) -> Decimal | None:
        return kg_by_module_report[validated[module]] if module in validated else None

    total_kg = sum((module_kg(validated_now, m) for m in validated_now), Decimal(0)) if validated_now else None
    previous_total_kg = (sum((module_kg(validated_before, m) for m in validated_before), Decimal(0))
                         if validated_before else None)
    headcount = current.get(Module.headcount)
    fte = None
    if Module.headcount in validated_now:
        fte = (headcount[5] or Decimal(0)) + (headcount[6] or Decimal(0))

    modules, missing = [], []
    for module in Module:
        row = current.get(module)
        status = ModuleStatus(row[3]) if row else ModuleStatus.NOT_STARTED
        is_enabled = bool(row[4]) if row else True
        kg = module_kg(validated_now, module)
        previous_kg = module_kg(validated_before, module)
        modules.append(ModuleResult(
            module=module, status=status, enabled=is_enabled, kg=kg, previous_kg=previous_kg,
            change_percent=change_percent(kg, previous_kg), car_km=_per(kg, factor),
            t_per_fte=_tonnes(_per(kg, fte)),
        ))
        if status != ModuleStatus.VALIDATED and is_enabled:
            missing.append(MissingModule(module=module, status=status))

    return UnitResults(
        unit_institutional_id=unit.institutional_id or "",
        year=year,
        previous_year=previous_year,
        validated_modules=len(validated_now),
        module_count=len(Module),
        total_kg=total_kg,
        previous_total_kg=previous_total_kg,
        change_percent=change_percent(total_kg, previous_total_kg),
        fte=fte,
        kg_per_fte=_per(total_kg, fte),
        car_km=_per(total_kg, factor),
        car_km_kg_co2eq_per_km=factor,
        car_km_source=str(getattr(settings, "CAR_KM_SOURCE", "")),
        scopes=[ScopeResult(scope=s, kg=scope_kg[s] if validated_now else None) for s in (1, 2, 3)],
        categories=[CategoryResult(
            category=c, label=CATEGORY_LABELS[c], module=CATEGORY_MODULES[c],
            validated=CATEGORY_MODULES[c] in validated_now,
            kg=category_kg[c] if CATEGORY_MODULES[c] in validated_now else None,
            by_scope=tuple(ScopeResult(scope=s, kg=category_scope_kg[c, s]) for s in (1, 2, 3)
                           if (c, s) in category_scope_kg) if CATEGORY_MODULES[c] in validated_now else (),
        ) for c in CATEGORIES],
        modules=modules,
        missing=missing,
    )
