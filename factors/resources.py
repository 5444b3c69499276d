"""The admin's export of a factor kind: a file `import_csv factors:KIND FILE --year YEAR` imports back unchanged.

The columns are the kind's CSV contract (`FactorKindSpec.columns`, in order), then, for people, the year and
the two flags (stale, copied from which year), which the import ignores. Never a database id.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext
from import_export import fields, resources, widgets

from factors.base import FactorKindSpec

__all__ = ["INFO_COLUMNS", "factor_cell", "factor_resource", "reference_resource"]

INFO_COLUMNS = ("year", "is_stale", "copied_from_year")


def _display_name(cls) -> str:
    """The resource's name on the export page."""
    return gettext("As its CSV import file")


def factor_cell(value) -> str:
    """A value as its CSV cell: plain, never localised (a French "2,5" would not import back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Cell(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        return factor_cell(value)


def factor_resource(spec: FactorKindSpec) -> type[resources.Resource]:
    names = [c.name for c in spec.columns]
    names += [n for n in INFO_COLUMNS if n not in names]
    declared = {name: fields.Field(attribute=name, column_name=name, readonly=True, widget=_Cell())
                for name in names}
    meta = type("Meta", (), {"export_order": tuple(declared), "fields": tuple(declared)})
    return type(f"{spec.model.__name__}Resource", (resources.Resource,), {**declared, "Meta": meta,
                   "get_display_name": classmethod(_display_name)})


def reference_resource(import_name: str, model, extra: tuple[str, ...] = ()) -> type[resources.Resource]:
    """The export of reference data (`locations`, `building_rooms`, `exchange_rates`) as its import file: the
    importer's own columns (read from the import registry, not restated), then `extra` for people."""
    from infra.importing import IMPORTERS

    names = [c.name for c in IMPORTERS[import_name].columns]
    names += [n for n in extra if n not in names]
    declared = {name: fields.Field(attribute=name, column_name=name, readonly=True, widget=_Cell())
                for name in names}
    meta = type("Meta", (), {"export_order": tuple(declared), "fields": tuple(declared)})
    return type(f"{model.__name__}Resource", (resources.Resource,), {**declared, "Meta": meta,
                                                                   "get_display_name": classmethod(_display_name)})
