"""Process emissions: quantity × GWP of the gas (factor by category and subcategory, else category)."""

from __future__ import annotations

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.kinds.process import ProcessEmissionFactor, canonical_category
from infra.csvio import ColumnSpec, parse_decimal
from modules.base import Leaf
from modules.process.models import ProcessEmission
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf


def parse_row(values: dict[str, str], ctx: RowContext) -> dict:
    quantity = parse_decimal(values["quantity"], min=0, allow_empty=False, column="quantity")
    category, subcategory = canonical_category(values["category"]), values.get("subcategory", "")
    factors = ctx.memo("process_factors", lambda: factor_index(ctx.year))
    if not (factors.get((category.lower(), subcategory.lower())) or factors.get((category.lower(), ""))):
        ctx.warn("category", f"no {ctx.year} factor for {category}"
                             f"{'/' + subcategory if subcategory else ''}: kept without emission")
    return {"category": category, "subcategory": subcategory, "quantity": quantity}


def factor_index(year: int) -> dict[tuple[str, str], ProcessEmissionFactor]:
    return {(f.category.lower(), f.subcategory.lower()): f for f in ProcessEmissionFactor.objects.filter(year=year)}


def _factor(entry, ctx: ComputeContext) -> ProcessEmissionFactor | None:
    """The (category, subcategory) factor, else the category's."""
    factors = ctx.memo("process_factors", lambda: factor_index(ctx.year))
    category = entry.category.lower()
    return factors.get((category, entry.subcategory.lower())) or factors.get((category, ""))


def compute(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    result = {}
    for entry in entries:
        factor = _factor(entry, ctx)
        if factor is None:
            result[entry.pk] = []
            continue
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.process_leaf(entry.category),
            kg_co2eq=entry.quantity * factor.ef_kg_co2eq_per_unit,
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


def set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """`compute` for the entries of one (category, subcategory): quantity × factor."""
    factor = _factor(entry, ctx)
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.process_leaf(entry.category), multiplier=factor.ef_kg_co2eq_per_unit,
        factor_id=factor.pk, factor_values=factor.values_used())]


SPEC = EntryKindSpec(
    name="process_emission",
    emission_roots=("process_emissions",),
    kinds=(EntryKind.process_emission,),
    model=ProcessEmission,
    columns=(ColumnSpec("category", required=True), ColumnSpec("subcategory"),
             ColumnSpec("quantity", required=True), ColumnSpec("note")),
    parse_row=parse_row,
    compute=compute,
    override_leaf=lambda entry: taxonomy.process_leaf(entry.category),
    factor_kinds=("process_emission",),
    measured=("quantity",),
    label="Process emissions",
    set_based=SetBased(keys=("category", "subcategory"), leaves=set_leaves, amount="e.quantity"),
)
