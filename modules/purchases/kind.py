"""Purchases (kinds 60–66, by spend) and additional purchases (kind 67, by mass).

Purchase: kg = amount converted to the factor's currency × ef_kg_co2eq_per_currency, the factor being
chosen "override-first" (reference-domain §5): a known additional code wins, else the institutional
code (its single factor, or its average row without additional code). `purchase_category` may be left
empty in a file: the upload's category (the submodule uploaded to: `ImportRequest.category`) fills it,
else the factor of the code tells it (the reference's per-category templates have no such column); an
empty category that neither gives is a row error, because the category is the entry's kind and cannot be
guessed. With a category, a code with no factor is kept with the usual "no factor" warning.

Currency (product.md §5.5) lives here too and is shared with external cloud: amounts are converted
through the yearly `ExchangeRate` table, `amount / rate(entry currency) × rate(factor currency)`,
EUR being 1 even without a row. A missing rate is a row error at import when the row's factor is in
another currency; at recomputation (a factor changed since) the entry gets no emission and it is logged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.kinds.purchases import (
    PURCHASE_CATEGORIES,
    AdditionalPurchaseFactor,
    PurchaseFactor,
    check_lengths,
    name_key,
    parse_amount,
    parse_code,
    parse_currency,
    parse_purchase_category,
)
from factors.models import ExchangeRate
from infra.csvio import CellError, ColumnSpec
from modules.base import Leaf
from modules.importing import OVERRIDE_COLUMN  # an overridden row needs no factor nor exchange rate
from modules.purchases.models import AdditionalPurchase, Purchase
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- currency
class MissingRate(Exception):
    def __init__(self, currency: str, year: int):
        self.currency, self.year = currency, year
        super().__init__(f"no exchange rate for {currency} in {year}")


def exchange_rates(year: int) -> dict[str, Decimal]:
    """currency → units per EUR for one year (one query; memoise it per computation)."""
    return dict(ExchangeRate.objects.filter(year=year).values_list("currency", "units_per_eur"))


def rates_of(ctx: RowContext | ComputeContext) -> dict[str, Decimal]:
    return ctx.memo("exchange_rates", lambda: exchange_rates(ctx.year))


def _rate(currency: str, rates: dict[str, Decimal], year: int) -> Decimal:
    if currency == "EUR":
        return Decimal(1)
    if currency not in rates:
        raise MissingRate(currency, year)
    return rates[currency]


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal], year: int) -> Decimal:
    """`amount` of `source` currency expressed in `target` currency; raises MissingRate."""
    if source == target:
        return amount
    return amount / _rate(source, rates, year) * _rate(target, rates, year)


def fx_values(source: str, target: str, rates: dict[str, Decimal]) -> dict:
    """The rates a conversion used, kept on the emission row next to the factor's values."""
    if source == target:
        return {}
    used = {c: str(rates.get(c, Decimal(1))) for c in (source, target)}
    return {"converted_from": source, "units_per_eur": used}


def check_rate(ctx: RowContext, source: str, target: str, column: str = "currency") -> None:
    """Import-time check that the row's amount can be converted to its factor's currency."""
    try:
        convert(Decimal(1), source, target, rates_of(ctx), ctx.year)
    except MissingRate as exc:
        raise CellError(f"{exc} (the factor is in {target}; load the exchange_rates of {exc.year})",
                        column=column) from None


# --------------------------------------------------------------------------------------- purchase factors
@dataclass
class PurchaseFactors:
    """One year's purchase factors, indexed by additional code and by institutional code."""

    by_additional: dict[str, list[PurchaseFactor]] = field(default_factory=lambda: defaultdict(list))
    by_code: dict[str, list[PurchaseFactor]] = field(default_factory=lambda: defaultdict(list))


def purchase_factors(year: int) -> PurchaseFactors:
    index = PurchaseFactors()
    for factor in PurchaseFactor.objects.filter(year=year).order_by("pk"):
        if factor.purchase_additional_code:
            index.by_additional[factor.purchase_additional_code].append(factor)
        index.by_code[factor.purchase_institutional_code].append(factor)
    return index


def resolve_purchase_factor(index: PurchaseFactors, code: str, additional: str = "") -> PurchaseFactor | None:
    """Override-first resolution (reference-domain §5). None = no factor; CellError = ambiguous."""
    code, additional = parse_code(code), parse_code(additional)
    if not code:
        raise CellError("a value is required", column="purchase_institutional_code")
    found = index.by_additional.get(additional, []) if additional else []
    if len(found) == 1:
        return found[0]
    if found:
        same_code = [f for f in found if f.purchase_institutional_code == code]
        if len(same_code) == 1:
            return same_code[0]
        raise CellError(f"purchase_additional_code '{additional}' has {len(found)} factors and none of them is "
                        f"for purchase_institutional_code '{code}'", column="purchase_additional_code")
    found = index.by_code.get(code, [])
    if len(found) == 1:
        return found[0]
    if found:
        average = [f for f in found if not f.purchase_additional_code]
        if len(average) == 1:
            return average[0]
        codes = ", ".join(f.purchase_additional_code for f in found)
        raise CellError(f"purchase_institutional_code '{code}' has {len(found)} factors ({codes}) and no average "
                        f"row without additional code: give the purchase_additional_code",
                        column="purchase_institutional_code")
    return None


def _purchase_factors(ctx: RowContext | ComputeContext) -> PurchaseFactors:
    return ctx.memo("purchase_factors", lambda: purchase_factors(ctx.year))


# ------------------------------------------------------------------------------------------- purchase
def parse_purchase_row(values: dict[str, str], ctx: RowContext) -> dict:
    code = parse_code(values["purchase_institutional_code"])
    additional = parse_code(values.get("purchase_additional_code", ""))
    row = {
        "name": values["name"], "supplier": values.get("supplier", ""),
        "quantity": parse_amount(values, "quantity", min=0),
        "total_spent_amount": parse_amount(values, "total_spent_amount", min=0, allow_empty=False),
        "currency": parse_currency(values.get("currency", ""), "CHF"),
        "purchase_institutional_code": code,
        "purchase_institutional_description": values.get("purchase_institutional_description", ""),
        "purchase_additional_code": additional,
    }
    check_lengths(Purchase, row)
    factor = resolve_purchase_factor(_purchase_factors(ctx), code, additional)
    if values.get("purchase_category", ""):
        row["purchase_category"] = parse_purchase_category(values["purchase_category"])
    elif factor is not None:
        row["purchase_category"] = factor.purchase_category
    else:
        raise CellError(f"purchase_category is empty and no factor for code '{code}' tells it: give the category "
                        f"(a purchase_category column, the upload page's category, or import_csv --category; one "
                        f"of: {', '.join(PURCHASE_CATEGORIES)})", column="purchase_category")
    if values.get(OVERRIDE_COLUMN):
        return row
    if factor is None:
        ctx.warn("purchase_institutional_code", f"no purchase factor for code '{code}' in {ctx.year}: "
                                                "the row is kept without emission")
    else:
        check_rate(ctx, row["currency"], factor.currency)
    return row


def compute_purchases(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    index, rates = _purchase_factors(ctx), rates_of(ctx)
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        result[entry.pk] = []
        try:
            factor = resolve_purchase_factor(index, entry.purchase_institutional_code, entry.purchase_additional_code)
            if factor is None:
                continue
            amount = convert(entry.total_spent_amount, entry.currency, factor.currency, rates, ctx.year)
        except (CellError, MissingRate) as exc:
            logger.warning("purchase %s (%s): no emission: %s", entry.pk, ctx.year, getattr(exc, "reason", exc))
            continue
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.purchase_leaf(entry.purchase_category),
            kg_co2eq=amount * factor.ef_kg_co2eq_per_currency,
            factor_id=factor.pk,
            factor_values={**factor.values_used(), **fx_values(entry.currency, factor.currency, rates)},
        )]
    return result


def conversion(source: str, target: str, rates: dict[str, Decimal], year: int) -> tuple[Decimal, Decimal]:
    """`convert` as (multiplier, divisor) for the set-based recalculation: amount × rate(target) / rate(source).
    Raises MissingRate as `convert` does."""
    if source == target:
        return Decimal(1), Decimal(1)
    return _rate(target, rates, year), _rate(source, rates, year)


def purchase_set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """`compute_purchases` for one (category, currency, code, additional code); an ambiguous code or a missing
    rate raises, and the engine leaves the key to `compute` (which logs it)."""
    rates = rates_of(ctx)
    factor = resolve_purchase_factor(_purchase_factors(ctx), entry.purchase_institutional_code,
                                     entry.purchase_additional_code)
    if factor is None:
        return []
    return [spend_set_leaf(taxonomy.purchase_leaf(entry.purchase_category), entry.currency, factor, rates, ctx.year)]


def spend_set_leaf(emission_type: int, currency: str, factor, rates: dict[str, Decimal], year: int) -> SetLeaf:
    """The set-based leaf of an amount spent in `currency` × a factor per currency unit (purchases, cloud): the
    conversion as multiplier and divisor, the factor's values with the exchange rates used."""
    multiplier, divisor = conversion(currency, factor.currency, rates, year)
    return SetLeaf(emission_type=emission_type, multiplier=multiplier * factor.ef_kg_co2eq_per_currency,
                   divisor=divisor, factor_id=factor.pk,
                   factor_values={**factor.values_used(), **fx_values(currency, factor.currency, rates)})


# -------------------------------------------------------------------------------------- additional purchase
def additional_purchase_factors(year: int) -> dict[str, AdditionalPurchaseFactor]:
    return {name_key(f.name): f for f in AdditionalPurchaseFactor.objects.filter(year=year).order_by("pk")}


def _additional_factors(ctx: RowContext | ComputeContext) -> dict[str, AdditionalPurchaseFactor]:
    return ctx.memo("additional_purchase_factors", lambda: additional_purchase_factors(ctx.year))


def parse_additional_purchase_row(values: dict[str, str], ctx: RowContext) -> dict:
    row = {
        "name": " ".join(values["name"].split()), "unit": values["unit"],
        "annual_consumption": parse_amount(values, "annual_consumption", min=0, allow_empty=False),
        "coef_to_kg": parse_amount(values, "coef_to_kg", min=0, allow_empty=False),
    }
    check_lengths(AdditionalPurchase, row)
    if not values.get(OVERRIDE_COLUMN) and name_key(row["name"]) not in _additional_factors(ctx):
        ctx.warn("name", f"no additional_purchase factor for '{row['name']}' in {ctx.year}: "
                         "the row is kept without emission")
    return row


def compute_additional_purchases(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = _additional_factors(ctx)
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        factor = factors.get(name_key(entry.name))
        result[entry.pk] = [] if factor is None else [Leaf(
            emission_type=taxonomy.additional_purchase_leaf(entry.name),
            kg_co2eq=entry.annual_consumption * entry.coef_to_kg * factor.ef_kg_co2eq_per_kg,
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


def additional_purchase_set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """Key (name): annual consumption × coefficient to kg × the factor."""
    factor = _additional_factors(ctx).get(name_key(entry.name))
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.additional_purchase_leaf(entry.name), multiplier=factor.ef_kg_co2eq_per_kg,
        factor_id=factor.pk, factor_values=factor.values_used())]


PURCHASE_KINDS = tuple(EntryKind[c] for c in ("scientific_equipment", "it_equipment", "consumable_accessories",
                                              "biological_chemical_gaseous_product", "services", "vehicles",
                                              "other_purchases"))

SPECS = [
    EntryKindSpec(
        name="purchase",
        emission_roots=tuple(f"purchases__{leaf}" for leaf in (
            "scientific_equipment", "it_equipment", "consumable_accessories", "biological_chemical_gaseous",
            "services", "vehicles", "other")),
        kinds=PURCHASE_KINDS,
        model=Purchase,
        # purchase_category is optional here (the contract marks it required): empty → the code's factor says.
        columns=(ColumnSpec("purchase_category"), ColumnSpec("name", required=True), ColumnSpec("supplier"),
                 ColumnSpec("quantity"), ColumnSpec("total_spent_amount", required=True), ColumnSpec("currency"),
                 ColumnSpec("purchase_institutional_code", required=True),
                 ColumnSpec("purchase_institutional_description"), ColumnSpec("purchase_additional_code"),
                 ColumnSpec("note")),
        parse_row=parse_purchase_row,
        compute=compute_purchases,
        override_leaf=lambda entry: taxonomy.purchase_leaf(entry.purchase_category),
        factor_kinds=("purchase",),
        measured=("total_spent_amount",),
        category_column="purchase_category",
        categories=PURCHASE_CATEGORIES,
        kind_of=lambda entry: taxonomy.purchase_kind(entry.purchase_category),
        label="Purchases",
        set_based=SetBased(keys=("purchase_category", "currency", "purchase_institutional_code",
                                 "purchase_additional_code"), leaves=purchase_set_leaves,
                           amount="e.total_spent_amount"),
    ),
    EntryKindSpec(
        name="additional_purchase",
        emission_roots=("purchases__additional",),
        kinds=(EntryKind.additional_purchase,),
        model=AdditionalPurchase,
        columns=(ColumnSpec("name", required=True), ColumnSpec("unit", required=True),
                 ColumnSpec("annual_consumption", required=True), ColumnSpec("coef_to_kg", required=True),
                 ColumnSpec("note")),
        parse_row=parse_additional_purchase_row,
        compute=compute_additional_purchases,
        override_leaf=lambda entry: taxonomy.additional_purchase_leaf(entry.name),
        factor_kinds=("additional_purchase",),
        measured=("annual_consumption",),
        label="Additional purchases",
        set_based=SetBased(keys=("name",), leaves=additional_purchase_set_leaves,
                           amount="e.annual_consumption * e.coef_to_kg"),
    ),
]
