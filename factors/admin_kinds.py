"""Admin pages of every factor kind, generated from the registry.

Back-office staff read them; the back-office admin edits them. An edit or a deletion marks the
affected entry kinds as needing recalculation and queues that recalculation in a worker.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from factors.base import FACTOR_KINDS
from factors.resources import factor_resource
from units.admin_display import decimal_columns
from units.admin_scoping import ScopedAdmin, ScopedExportMixin


class CopiedFromLastYearFilter(admin.SimpleListFilter):
    """Rows the year rollover copied (`copied_from_year` set) and no import or edit has confirmed since."""

    title = _("copied from last year")
    parameter_name = "copied"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(copied_from_year__isnull=False)
        if self.value() == "no":
            return queryset.filter(copied_from_year__isnull=True)
        return queryset


class FactorAdmin(ScopedExportMixin, ScopedAdmin):
    unit_path = None
    list_filter = ("year", "is_stale", CopiedFromLastYearFilter)
    list_per_page = 100
    spec = None

    @admin.display(description=_("in the latest import"), ordering="is_stale")
    def import_status(self, obj):
        """Words, not an icon: a red ✖ under "is stale" read as "wrong" when it meant "not stale"."""
        return gettext("no — stale, kept and still used") if obj.is_stale else gettext("yes")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._factors_changed(request, obj.year, "factor edited in the admin")

    def delete_model(self, request, obj):
        year = obj.year
        super().delete_model(request, obj)
        self._factors_changed(request, year, "factor deleted in the admin")

    def _factors_changed(self, request, year: int, reason: str) -> None:
        from carbon.jobs.services import recalc_enqueue
        from carbon.models import RecalculationState

        kinds = list(self.spec.recalculates)
        RecalculationState.factors_changed(year=year, kinds=kinds, actor=request.user, reason=reason)
        if kinds:
            transaction.on_commit(lambda: recalc_enqueue(kinds=kinds, year=year, actor=request.user,
                                                              request=request))
            messages.info(request, f"Recalculation of {', '.join(kinds)} for {year} queued.")


def _admin_for(spec):
    fields = [f.name for f in spec.model._meta.concrete_fields
              if f.name not in {"id", "last_import_at", "updated_at", "copied_from_year", "is_stale"}]
    columns, shown = decimal_columns(spec.model, fields[:9])
    return type(f"{spec.model.__name__}Admin", (FactorAdmin,), {
        **shown,
        "spec": spec,
        "list_display": (*columns, "import_status", "copied_from_year"),
        "search_fields": spec.identity,
        # The export is the kind's import file (plus the year and flags): it imports back unchanged.
        "resource_classes": [factor_resource(spec)],
    })


for _spec in FACTOR_KINDS.values():
    if not admin.site.is_registered(_spec.model):
        admin.site.register(_spec.model, _admin_for(_spec))
