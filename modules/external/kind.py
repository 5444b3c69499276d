"""External cloud (kind 40) and external AI (kind 41).

Cloud: kg = spent amount converted to the factor's currency × ef_kg_co2eq_per_currency; factor by
(service_type, provider), provider matched trimmed and case-insensitively. Currency as for purchases
(modules/purchases/kind.py): a missing exchange rate is a row error at import.

AI: kg = requests/day × 5 days × 46 weeks × fte_count × ef / 1000, the factor being grams per request;
factor by (provider, usage_type), matched trimmed and case-insensitively (product.md §5.15). One emission
row per entry, in its provider's leaf (google, mistral_ai, anthropic, openai, cohere, else others).

Standard users may enter these rows and own the rows they created (`Entry.created_by`): there is no
owner column, so `owner_field` stays None and the ownership check is on the creator.

The lab templates (external_clouds_template.csv, external_ai_template.csv) carry scaffold rows: a
provider and usage filled in, the amount left empty. The import skips them with a warning by the rule
every kind shares (`measured` below; `infra.importing.template_row_reason`).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from carbon import taxonomy
from carbon.taxonomy import EntryKind
from factors.kinds.external import ExternalAIFactor, ExternalCloudFactor, parse_service_type, text_key
from factors.kinds.purchases import check_lengths, parse_amount, parse_currency
from infra.csvio import ColumnSpec, parse_choice
from modules.base import Leaf
from modules.external.models import MIN_FTE_COUNT, REQUEST_BUCKETS, ExternalAI, ExternalCloud
from modules.importing import OVERRIDE_COLUMN
from modules.purchases.kind import MissingRate, check_rate, convert, fx_values, rates_of, spend_set_leaf
from modules.registry import ComputeContext, EntryKindSpec, RowContext, SetBased, SetLeaf

logger = logging.getLogger(__name__)

# Mid-points of the request buckets (reference): requests per user per day.
REQUESTS_PER_DAY = {"1_5": Decimal("3.0"), "5_20": Decimal("12.5"), "20_100": Decimal("60.0"),
                    "gt_100": Decimal("100.0")}
WORKING_DAYS_PER_WEEK = 5
WORKING_WEEKS_PER_YEAR = 46


# ------------------------------------------------------------------------------------------- cloud
def cloud_factors(year: int) -> dict[tuple[str, str], ExternalCloudFactor]:
    return {(f.service_type, text_key(f.provider)): f
            for f in ExternalCloudFactor.objects.filter(year=year).order_by("pk")}


def _cloud_factors(ctx: RowContext | ComputeContext) -> dict[tuple[str, str], ExternalCloudFactor]:
    return ctx.memo("external_cloud_factors", lambda: cloud_factors(ctx.year))


def parse_cloud_row(values: dict[str, str], ctx: RowContext) -> dict:
    row = {"service_type": parse_service_type(values["service_type"]), "provider": values["provider"],
           "spent_amount": parse_amount(values, "spent_amount", min=0, allow_empty=False),
           "currency": parse_currency(values.get("currency", ""), "EUR")}
    check_lengths(ExternalCloud, row)
    if values.get(OVERRIDE_COLUMN):
        return row
    factor = _cloud_factors(ctx).get((row["service_type"], text_key(row["provider"])))
    if factor is None:
        ctx.warn("provider", f"no external_cloud factor for ({row['service_type']}, {row['provider']}) in "
                             f"{ctx.year}: the row is kept without emission")
    else:
        check_rate(ctx, row["currency"], factor.currency)
    return row


def compute_cloud(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors, rates = _cloud_factors(ctx), rates_of(ctx)
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        result[entry.pk] = []
        factor = factors.get((entry.service_type, text_key(entry.provider)))
        if factor is None:
            continue
        try:
            amount = convert(entry.spent_amount, entry.currency, factor.currency, rates, ctx.year)
        except MissingRate as exc:
            logger.warning("external cloud %s (%s): no emission: %s", entry.pk, ctx.year, exc)
            continue
        result[entry.pk] = [Leaf(
            emission_type=taxonomy.cloud_leaf(entry.service_type),
            kg_co2eq=amount * factor.ef_kg_co2eq_per_currency,
            factor_id=factor.pk,
            factor_values={**factor.values_used(), **fx_values(entry.currency, factor.currency, rates)},
        )]
    return result


def cloud_set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """`compute_cloud` for one (service type, provider, currency); a missing rate raises (left to it)."""
    factor, rates = _cloud_factors(ctx).get((entry.service_type, text_key(entry.provider))), rates_of(ctx)
    if factor is None:
        return []
    return [spend_set_leaf(taxonomy.cloud_leaf(entry.service_type), entry.currency, factor, rates, ctx.year)]


# ---------------------------------------------------------------------------------------------- AI
def ai_factors(year: int) -> dict[tuple[str, str], ExternalAIFactor]:
    return {(text_key(f.provider), text_key(f.usage_type)): f
            for f in ExternalAIFactor.objects.filter(year=year).order_by("pk")}


def _ai_factors(ctx: RowContext | ComputeContext) -> dict[tuple[str, str], ExternalAIFactor]:
    return ctx.memo("external_ai_factors", lambda: ai_factors(ctx.year))


def parse_requests_bucket(text: str) -> str:
    return parse_choice(text, REQUEST_BUCKETS, allow_empty=False, column="requests_per_user_per_day")


def parse_ai_row(values: dict[str, str], ctx: RowContext) -> dict:
    row = {"provider": values["provider"], "usage_type": values["usage_type"],
           "requests_per_user_per_day": parse_requests_bucket(values["requests_per_user_per_day"]),
           "fte_count": parse_amount(values, "fte_count", min=MIN_FTE_COUNT, allow_empty=False)}
    check_lengths(ExternalAI, row)
    if not values.get(OVERRIDE_COLUMN) and (text_key(row["provider"]), text_key(row["usage_type"])) \
            not in _ai_factors(ctx):
        ctx.warn("provider", f"no external_ai factor for ({row['provider']}, {row['usage_type']}) in {ctx.year}: "
                             "the row is kept without emission")
    return row


def ai_kg(requests_bucket: str, fte_count: Decimal, grams_per_request: Decimal) -> Decimal:
    requests = REQUESTS_PER_DAY[requests_bucket] * WORKING_DAYS_PER_WEEK * WORKING_WEEKS_PER_YEAR * fte_count
    return requests * grams_per_request / 1000


def compute_ai(entries, ctx: ComputeContext) -> dict[int, list[Leaf]]:
    factors = _ai_factors(ctx)
    result: dict[int, list[Leaf]] = {}
    for entry in entries:
        factor = factors.get((text_key(entry.provider), text_key(entry.usage_type)))
        result[entry.pk] = [] if factor is None else [Leaf(
            emission_type=taxonomy.ai_provider_leaf(entry.provider),
            kg_co2eq=ai_kg(entry.requests_per_user_per_day, entry.fte_count, factor.ef_kg_co2eq_per_request),
            factor_id=factor.pk, factor_values=factor.values_used(),
        )]
    return result


def ai_set_leaves(entry, ctx: ComputeContext) -> list[SetLeaf]:
    """Key (provider, usage type, requests bucket): fte × the bucket's yearly requests × grams / 1000."""
    factor = _ai_factors(ctx).get((text_key(entry.provider), text_key(entry.usage_type)))
    return [] if factor is None else [SetLeaf(
        emission_type=taxonomy.ai_provider_leaf(entry.provider),
        multiplier=ai_kg(entry.requests_per_user_per_day, Decimal(1), factor.ef_kg_co2eq_per_request),
        factor_id=factor.pk, factor_values=factor.values_used())]


SPECS = [
    EntryKindSpec(
        name="external_cloud",
        emission_roots=("external__clouds",),
        kinds=(EntryKind.external_cloud,),
        model=ExternalCloud,
        columns=(ColumnSpec("service_type", required=True), ColumnSpec("provider", required=True),
                 ColumnSpec("spent_amount", required=True), ColumnSpec("currency"), ColumnSpec("note")),
        parse_row=parse_cloud_row,
        compute=compute_cloud,
        override_leaf=lambda entry: taxonomy.cloud_leaf(entry.service_type),
        factor_kinds=("external_cloud",),
        owner_field=None,  # owned by their creator (Entry.created_by), see the module docstring
        standard_editable=True,
        label="External cloud",
        measured=("spent_amount",),
        set_based=SetBased(keys=("service_type", "provider", "currency"), leaves=cloud_set_leaves,
                           amount="e.spent_amount"),
    ),
    EntryKindSpec(
        name="external_ai",
        emission_roots=("external__ai",),
        kinds=(EntryKind.external_ai,),
        model=ExternalAI,
        columns=(ColumnSpec("provider", required=True), ColumnSpec("usage_type", required=True),
                 ColumnSpec("requests_per_user_per_day", required=True), ColumnSpec("fte_count", required=True),
                 ColumnSpec("note")),
        parse_row=parse_ai_row,
        compute=compute_ai,
        override_leaf=lambda entry: taxonomy.ai_provider_leaf(entry.provider),
        factor_kinds=("external_ai",),
        owner_field=None,  # owned by their creator (Entry.created_by), see the module docstring
        standard_editable=True,
        label="External AI",
        measured=("requests_per_user_per_day", "fte_count"),
        set_based=SetBased(keys=("provider", "usage_type", "requests_per_user_per_day"), leaves=ai_set_leaves,
                           amount="e.fte_count"),
    ),
]
