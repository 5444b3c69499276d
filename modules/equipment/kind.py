"""Equipment (kinds 10 scientific / 11 IT / 12 other): electricity used by a lab's devices.

kg = (active_h × active_W + standby_h × standby_W) × 52 weeks / 1000 × ef_kg_co2eq_per_kwh, with the
factor found by (equipment_class, sub_class), else (equipment_class, ''), within the entry's category.
An empty weekly-hours cell takes the factor's default at computation (0 is a real value: switched off),
so a corrected default reaches every entry that relied on it.

`equipment_category` is an optional column: the sample equipments_smoke.csv has none. An empty category is
taken from the upload's category (the submodule uploaded to: `ImportRequest.category`), else from the year's
factors for the row's class (and sub_class); when none or several categories are possible the row is
rejected, since the category is the entry's kind. Classes are matched through the reference's spellings
(`factors.aliases.FACTOR_NAME_ALIASES`: "Lab Freezer / Frigde").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.aliases import factor_name
from factors.kinds.equipment import (
    EQUIPMENT_CATEGORIES,
    HOURS_PER_WEEK,
    EquipmentFactor,
    check_hours_sum,
    parse_category,
    parse_hours,
)
from factors.kinds.purchases import check_lengths
from infra.csvio import CellError, ColumnSpec
from modules.base import Leaf
from modules.equipment.models import Equipment
from modules.importing import OVERRIDE_COLUMN
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf

logger = logging.getLogger(__name__)

WEEKS_PER_YEAR = 52


def _key(text: str) -> str:
    return " ".join((text or "").lower().split())


def _class_key(text: str) -> str:
    """A class as the factors name it: the reference's spellings are aliases (factors.aliases)."""
    return _key(factor_name("equipment", "equipment_class", text))


@dataclass
class EquipmentFactors:
    """One year's factors by (category, class, sub_class), and the categories each (class, sub_class) has."""

    by_key: dict[tuple[str, str, str], EquipmentFactor] = field(default_factory=dict)
    categories: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def find(self, category: str, equipment_class: str, sub_class: str) -> EquipmentFactor | None:
        cls, sub = _class_key(equipment_class), _key(sub_class)
        return self.by_key.get((category, cls, sub)) or self.by_key.get((category, cls, ""))

    def categories_of(self, equipment_class: str, sub_class: str) -> set[str]:
        cls, sub = _class_key(equipment_class), _key(sub_class)
        return self.categories.get((cls, sub)) or self.categories.get((cls, "")) or set()


def equipment_factors(year: int) -> EquipmentFactors:
    index = EquipmentFactors()
    for factor in EquipmentFactor.objects.filter(year=year).order_by("pk"):
        cls, sub = _key(factor.equipment_class), _key(factor.sub_class)
        index.by_key[(factor.equipment_category, cls, sub)] = factor
        index.categories[(cls, sub)].add(factor.equipment_category)
    return index


def _factors(ctx: RowContext | ComputeContext) -> EquipmentFactors:
    return ctx.memo("equipment_factors", lambda: equipment_factors(ctx.year))


def effective_hours(active: Decimal | None, standby: Decimal | None,
                    factor: EquipmentFactor) -> tuple[Decimal | None, Decimal | None]:
    """An entry's weekly hours, each empty one taken from the factor's default."""
    return (factor.active_usage_hours_per_week if active is None else active,
            factor.standby_usage_hours_per_week if standby is None else standby)


def infer_category(factors: EquipmentFactors, equipment_class: str, sub_class: str) -> str:
    categories = factors.categories_of(equipment_class, sub_class)
    if len(categories) == 1:
        return next(iter(categories))
    if not categories:
        raise CellError(f"equipment_category is empty and no factor for class '{equipment_class}' tells it",
                        column="equipment_category")
    raise CellError(f"equipment_category is empty and the factors for class '{equipment_class}' name several "
                    f"categories ({', '.join(sorted(categories))})", column="equipment_category")


def parse_row(values: dict[str, str], ctx: RowContext) -> dict:
    row = {"equipment_id": values["equipment_id"], "name": values["name"],
           "equipment_class": values["equipment_class"], "sub_class": values.get("sub_class", ""),
           **parse_hours(values)}
    check_lengths(Equipment, row)
    factors = _factors(ctx)
    if values.get("equipment_category", ""):
        row["equipment_category"] = parse_category(values["equipment_category"])
    else:
        row["equipment_category"] = infer_category(factors, row["equipment_class"], row["sub_class"])
    if values.get(OVERRIDE_COLUMN):  # an override needs no factor
        return row
    factor = factors.find(row["equipment_category"], row["equipment_class"], row["sub_class"])
    where = f"({row['equipment_category']}, {row['equipment_class']}, {row['sub_class'] or '*'})"
    if factor is None:
        ctx.warn("equipment_class", f"no equipment factor for {where} in {ctx.year}: "
                                    "the row is kept without emission")
        return row
    active, standby = effective_hours(row["active_usage_hours_per_week"], row["standby_usage_hours_per_week"],
                                      factor)
    if active is None or standby is None:
        ctx.warn("active_usage_hours_per_week", f"weekly hours are empty and the factor for {where} has no default: "
                                                "the row is kept without emission")
    else:
        check_hours_sum(active, standby, defaulted=" with the factor's default hours")
    return row


def kwh_per_year(active_h: Decimal, active_w: Decimal, standby_h: Decimal, standby_w: Decimal) -> Decimal:
    return (active_h * active_w + standby_h * standby_w) * WEEKS_PER_YEAR / 1000


def compute(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = _factors(ctx)
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        result[entry.pk] = []
        factor = factors.find(entry.equipment_category, entry.equipment_class, entry.sub_class)
        if factor is None:
            continue
        active, standby = effective_hours(entry.active_usage_hours_per_week, entry.standby_usage_hours_per_week,
                                          factor)
        if active is None or standby is None:
            continue
        if active + standby > HOURS_PER_WEEK:  # only via a factor's new default: the import checks the rest
            logger.warning("equipment %s (%s): %s + %s hours exceed a week: no emission", entry.pk, ctx.year,
                           active, standby)
            continue
        kwh = kwh_per_year(active, factor.active_power_w, standby, factor.standby_power_w)
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.equipment_leaf(entry.equipment_category),
            kg_co2eq=kwh * factor.ef_kg_co2eq_per_kwh,
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


def set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """`compute` for one (category, class, sub_class): the factor's defaults and powers are the plan's numbers
    (k.p0 … k.p3, read by `_KWH` below), the hours the entry's own."""
    factor = _factors(ctx).find(entry.equipment_category, entry.equipment_class, entry.sub_class)
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.equipment_leaf(entry.equipment_category), multiplier=factor.ef_kg_co2eq_per_kwh,
        params=(factor.active_usage_hours_per_week, factor.active_power_w, factor.standby_usage_hours_per_week,
                factor.standby_power_w), factor_id=factor.pk, factor_values=factor.values_used())]


# kwh_per_year with each empty hours cell the factor's default; NULL (no emission) as in `compute` when an
# hours value is still unknown or the week is exceeded. × 52 / 1000 is the exact × 0.052.
_ACTIVE, _STANDBY = "COALESCE(e.active_usage_hours_per_week, k.p0)", "COALESCE(e.standby_usage_hours_per_week, k.p2)"
_KWH = (f"CASE WHEN {_ACTIVE} + {_STANDBY} <= {HOURS_PER_WEEK} "
        f"THEN ({_ACTIVE} * k.p1 + {_STANDBY} * k.p3) * {Decimal(WEEKS_PER_YEAR) / 1000} END")


SPEC = EntryKindSpec(
    name="equipment",
    emission_roots=("equipment",),
    kinds=(EntryKind.equipment_scientific, EntryKind.equipment_it, EntryKind.equipment_other),
    model=Equipment,
    columns=(ColumnSpec("equipment_category"), ColumnSpec("equipment_id", required=True),
             ColumnSpec("name", required=True), ColumnSpec("equipment_class", required=True),
             ColumnSpec("sub_class"), ColumnSpec("active_usage_hours_per_week"),
             ColumnSpec("standby_usage_hours_per_week"), ColumnSpec("note")),
    parse_row=parse_row,
    compute=compute,
    override_leaf=lambda entry: taxonomy.equipment_leaf(entry.equipment_category),
    factor_kinds=("equipment",),
    category_column="equipment_category",
    categories=EQUIPMENT_CATEGORIES,
    kind_of=lambda entry: taxonomy.equipment_kind(entry.equipment_category),
    label="Equipment",
    set_based=SetBased(keys=("equipment_category", "equipment_class", "sub_class"), leaves=set_leaves, amount=_KWH),
)
