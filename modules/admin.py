"""Back-office views of the entries of every kind, generated from the registry.

Entries are lab data: the back office reads them within its scope (metier: its subtrees) and never
edits them; labs edit through the lab app and the API.
"""

from __future__ import annotations

from django.contrib import admin

from carbon.models import Emission
from modules.registry import KINDS
from units.admin_scoping import ReadOnlyAdminMixin, ScopedAdmin, ScopedExportMixin
from units.scoping import Action

UNIT_PATH = "module_report__report__unit__"


class EntryAdmin(ReadOnlyAdminMixin, ScopedExportMixin, ScopedAdmin):
    unit_path = UNIT_PATH
    view_action = Action.BROWSE
    list_select_related = ("module_report__report__unit",)
    list_filter = ("module_report__report__year", "source")
    search_fields = ("module_report__report__unit__name", "module_report__report__unit__institutional_id", "note")
    list_per_page = 100

    @admin.display(description="unit", ordering="module_report__report__unit__name")
    def unit(self, obj):
        return obj.module_report.report.unit.name

    @admin.display(description="year", ordering="module_report__report__year")
    def year(self, obj):
        return obj.module_report.report.year_id


def _entry_admin(spec):
    own = [f.name for f in spec.model._meta.concrete_fields
           if f.name not in {"id", "module_report", "created_by", "created_at", "updated_at", "note",
                             "kg_co2eq_override", "kg_co2eq", "source"} and not f.is_relation][:6]
    return type(f"{spec.model.__name__}Admin", (EntryAdmin,), {
        "list_display": ("unit", "year", *own, "kg_co2eq", "kg_co2eq_override", "source"),
    })


for _spec in KINDS.values():
    if not admin.site.is_registered(_spec.model):
        admin.site.register(_spec.model, _entry_admin(_spec))


@admin.register(Emission)
class EmissionAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Leaf emission rows, for checking a number: which factor values gave which kg."""

    unit_path = "unit__"
    list_display = ("unit", "year", "kind", "entry_id", "emission_type", "scope", "kg_co2eq", "quantity",
                    "is_override")
    list_filter = ("year", "module", "kind", "scope", "is_override")
    search_fields = ("unit__name", "unit__institutional_id", "=entry_id")
    list_select_related = ("unit",)
    readonly_fields = [f.name for f in Emission._meta.fields]

