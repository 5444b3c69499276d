"""The admin's export of an entry kind: a file `import_csv KIND FILE --year YEAR` imports back unchanged.

The columns are the kind's CSV contract, in its order (`unit_institutional_id`, the spec's columns, the
`kg_co2eq` override), written by the same `entry_cells` the lab API starts a partial update from; then a few
columns for people (unit name, year, the computed total, where the row came from), which the importer ignores
with a warning (docs/csv-formats.md: unknown columns are ignored unless they look like a misspelt contract
column). Never a database id.
"""

from __future__ import annotations

from django.utils.translation import gettext
from import_export import fields, resources, widgets

from modules.base import EntrySource
from modules.registry import EntryKindSpec
from modules.rows import OVERRIDE_COLUMN, entry_cells

__all__ = ["INFO_COLUMNS", "UNIT_COLUMN", "entry_resource"]

UNIT_COLUMN = "unit_institutional_id"


class _Text(widgets.Widget):
    """A cell as plain text, never localised (a French "2,5" would not import back)."""

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class _Getter(fields.Field):
    def __init__(self, column: str, getter):
        super().__init__(attribute=column, column_name=column, readonly=True, widget=_Text())
        self.getter = getter

    def get_value(self, instance):
        return self.getter(instance)


def _display_name(cls) -> str:
    """The resource's name on the export page."""
    return gettext("As its CSV import file")


def _cells(spec: EntryKindSpec):
    def cells(entry) -> dict[str, str]:
        cached = entry.__dict__.get("_export_cells")
        if cached is None:
            cached = entry.__dict__["_export_cells"] = entry_cells(spec, entry)
        return cached

    return cells


def _unit(entry):
    return entry.module_report.report.unit


# Informational columns after the contract's, for people; the import ignores them.
INFO_COLUMNS = {
    "unit_name": lambda e: _unit(e).name,
    "year": lambda e: e.module_report.report.year_id,
    "computed_kg_co2eq": lambda e: "" if e.kg_co2eq is None else format(e.kg_co2eq, "f"),
    "row_source": lambda e: EntrySource(e.source).label,
}


def entry_resource(spec: EntryKindSpec) -> type[resources.Resource]:
    """The export resource of one entry kind, generated from its spec."""
    cells = _cells(spec)
    contract = [UNIT_COLUMN, *(c.name for c in spec.columns), OVERRIDE_COLUMN]
    declared: dict[str, fields.Field] = {UNIT_COLUMN: _Getter(UNIT_COLUMN, lambda e: _unit(e).institutional_id)}
    for name in contract[1:]:
        declared[name] = _Getter(name, lambda e, name=name: cells(e)[name])
    for name, getter in INFO_COLUMNS.items():
        if name not in declared:  # a contract column always wins its name
            declared[name] = _Getter(name, getter)
    meta = type("Meta", (), {"export_order": tuple(declared), "fields": tuple(declared)})
    name = f"{spec.model.__name__}Resource"  # import-export's default name: its form fields are "<name>_<column>"
    return type(name, (resources.Resource,), {**declared, "Meta": meta,
                                              "get_display_name": classmethod(_display_name)})
