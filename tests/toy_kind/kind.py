"""The toy kind: everything a new entry kind declares, in one place."""

from decimal import Decimal

from carbon import taxonomy
from carbon.taxonomy import Module, declare_entry_kind
from infra.csvio import ColumnSpec, decimal_cell, text_cell
from modules.base import Leaf
from modules.registry import EntryKindSpec
from tests.toy_kind.models import ToyWidget

KG_PER_WIDGET = Decimal("2.5")
TOY_WIDGET = declare_entry_kind(990, "toy_widget", Module.purchase, "Toy widgets")
LEAF = taxonomy.by_name("purchases__other").id


def parse_row(values, ctx):
    field = ToyWidget._meta.get_field
    return {"widget_name": text_cell(values["widget_name"], "widget_name", field("widget_name")),
            "count": decimal_cell(values["count"], "count", field("count"))}


def compute(entries, ctx):
    return {entry.pk: [Leaf(emission_type=LEAF, kg_co2eq=entry.count * KG_PER_WIDGET, quantity=entry.count,
                            quantity_unit="widget")] for entry in entries}


SPEC = EntryKindSpec(
    name="toy_widget",
    kinds=(TOY_WIDGET,),
    model=ToyWidget,
    columns=(ColumnSpec("widget_name", required=True), ColumnSpec("count", required=True), ColumnSpec("note")),
    parse_row=parse_row,
    compute=compute,
    emission_roots=("purchases__other",),
    override_leaf=lambda entry: LEAF,
    label="Toy widgets",
)
