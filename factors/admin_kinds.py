"""Admin pages of every factor kind, generated from the registry.

Back-office staff read them; the back-office admin edits them. An edit or a deletion marks the
affected entry kinds as needing recalculation and queues that recalculation in a worker.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction

from factors.base import FACTOR_KINDS
from units.admin_scoping import ScopedAdmin, ScopedExportMixin


class FactorAdmin(ScopedExportMixin, ScopedAdmin):
    unit_path = None
    list_filter = ("year", "is_stale")
    list_per_page = 100
    spec = None

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
              if f.name not in {"id", "last_import_at", "updated_at"}]
    return type(f"{spec.model.__name__}Admin", (FactorAdmin,), {
        "spec": spec,
        "list_display": tuple(fields[:9]),
        "search_fields": spec.identity,
    })


for _spec in FACTOR_KINDS.values():
    if not admin.site.is_registered(_spec.model):
        admin.site.register(_spec.model, _admin_for(_spec))
