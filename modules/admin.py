"""Back-office views of the entries of every kind, generated from the registry.

Entries are lab data: the back office reads them within its scope (metier: its subtrees) and never
edits them; labs edit through the lab app and the API. Numbers are shown for people (`display_kg`); the
Export button writes the kind's import file (`modules.resources`).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from carbon import taxonomy
from carbon.models import Emission
from modules.registry import KINDS
from modules.resources import entry_resource
from units.admin_display import decimal_columns, display_exact, display_kg, json_table
from units.admin_scoping import ReadOnlyAdminMixin, ScopedAdmin, ScopedExportMixin
from units.scoping import Action

UNIT_PATH = "module_report__report__unit__"


class EntryAdmin(ReadOnlyAdminMixin, ScopedExportMixin, ScopedAdmin):
    unit_path = UNIT_PATH
    view_action = Action.BROWSE
    list_select_related = ("module_report__report__unit",)
    list_filter = ("module_report__report__year", "source")
    search_fields = ("module_report__report__unit__name", "module_report__report__unit__institutional_id", "note")
    search_help_text = _("Unit name or cf, or note.")
    list_per_page = 100
    readonly_fields = ("kg", "kg_override")

    def get_fields(self, request, obj=None):
        """Stored decimals (six places) shown as people read them: totals by `display_kg`, the other numbers
        without their padding zeros (the `<field>_shown` columns of `decimal_columns`)."""
        shown = {"kg_co2eq": "kg", "kg_co2eq_override": "kg_override"}
        shown.update({name.removesuffix("_shown"): name for name in self.readonly_fields if name.endswith("_shown")})
        return [shown.get(name, name) for name in super().get_fields(request, obj) if name not in self.readonly_fields]

    @admin.display(description=_("unit"), ordering="module_report__report__unit__name")
    def unit(self, obj):
        return obj.module_report.report.unit.name

    @admin.display(description=_("year"), ordering="module_report__report__year")
    def year(self, obj):
        return obj.module_report.report.year_id

    @admin.display(description=_("kg CO₂-eq"), ordering="kg_co2eq")
    def kg(self, obj):
        return display_kg(obj.kg_co2eq)

    @admin.display(description=_("kg CO₂-eq given (override)"), ordering="kg_co2eq_override")
    def kg_override(self, obj):
        return None if obj.kg_co2eq_override is None else display_kg(obj.kg_co2eq_override)


def _entry_admin(spec):
    own = [f.name for f in spec.model._meta.concrete_fields
           if f.name not in {"id", "module_report", "created_by", "created_at", "updated_at", "note",
                             "kg_co2eq_override", "kg_co2eq", "source"} and not f.is_relation][:6]
    own, _ = decimal_columns(spec.model, own)
    _, shown = decimal_columns(spec.model, [f.name for f in spec.model._meta.concrete_fields
                                            if f.name not in {"kg_co2eq", "kg_co2eq_override"}])
    return type(f"{spec.model.__name__}Admin", (EntryAdmin,), {
        **shown,
        "readonly_fields": (*EntryAdmin.readonly_fields, *shown),
        "list_display": ("unit", "year", *own, "kg", "kg_override", "source"),
        # The export is the kind's import file (plus columns for people): it imports back unchanged.
        "resource_classes": [entry_resource(spec)],
    })


for _spec in KINDS.values():
    if not admin.site.is_registered(_spec.model):
        admin.site.register(_spec.model, _entry_admin(_spec))


def emission_type_label(emission_type_id: int) -> str:
    """An emission type by its name in the tree ("professional travel / plane / eco"), not its numeric id."""
    try:
        return taxonomy.get(emission_type_id).label
    except (KeyError, ValueError):
        return str(emission_type_id)


class EmissionTypeFilter(admin.SimpleListFilter):
    """Emission types by name (a plain field filter would list bare ids)."""

    title = _("emission type")
    parameter_name = "emission_type"

    def lookups(self, request, model_admin):
        return [(str(et.id), et.label) for et in taxonomy.leaves()]

    def queryset(self, request, queryset):
        return queryset.filter(emission_type=self.value()) if self.value() else queryset


@admin.register(Emission)
class EmissionAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """Leaf emission rows, for checking a number: which factor values gave which kg."""

    unit_path = "unit__"
    list_display = ("unit", "year", "kind", "entry_id", "emission_type_name", "scope", "kg", "quantity_shown",
                    "is_override")
    list_filter = ("year", "module", "kind", "scope", EmissionTypeFilter, "is_override")
    search_fields = ("unit__name", "unit__institutional_id", "=entry_id")
    search_help_text = _("Unit name or cf, or =entry id.")
    list_select_related = ("unit",)
    readonly_fields = [*(f.name for f in Emission._meta.fields if f.name not in {"emission_type", "factor_values"}),
                       "emission_type_name", "factor_values_table"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.display(description=_("emission type"), ordering="emission_type")
    def emission_type_name(self, obj):
        return emission_type_label(obj.emission_type)

    @admin.display(description=_("kg CO₂-eq"), ordering="kg_co2eq")
    def kg(self, obj):
        return display_kg(obj.kg_co2eq)

    @admin.display(description=_("quantity"), ordering="quantity")
    def quantity_shown(self, obj):
        return "—" if obj.quantity is None else f"{display_exact(obj.quantity)} {obj.quantity_unit}".strip()

    @admin.display(description=_("factor values used"))
    def factor_values_table(self, obj):
        return json_table(obj.factor_values)
