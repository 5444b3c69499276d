"""The base admin that routes every admin surface through the scoping function.

Changelists, change/delete/history views, actions and import-export's export all start from
`get_queryset`; FK dropdowns from `formfield_for_foreignkey`; permissions from `has_*_permission`.
Out-of-scope objects answer 404 (not 403, not a redirect): the response says nothing about what exists.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from units.models import Unit
from units.scoping import Action, unit_scope

__all__ = ["ReadOnlyAdminMixin", "ScopedAdmin", "ScopedExportMixin", "ScopedInlineMixin"]


class ScopedAdmin(SimpleHistoryAdmin):
    """Subclasses declare how the model reaches `Unit` and which actions read and write it.

    `unit_path`: lookup prefix to the unit ("" for Unit itself, None for models without a unit:
    those are readable by anyone holding `view_action` anywhere and writable only with a global
    `change_action`).
    """

    unit_path: str | None = "unit__"
    view_action: Action = Action.BROWSE
    change_action: Action = Action.MANAGE

    # --- querysets -------------------------------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = unit_scope(request.user, self.view_action)
        if self.unit_path is None:
            return queryset if not scope.is_empty else queryset.none()
        return queryset.filter(scope.q(self.unit_path))

    def unit_of(self, obj) -> Unit | None:
        if self.unit_path is None:
            return None
        target = obj
        for part in [p for p in self.unit_path.split("__") if p]:
            target = getattr(target, part, None)
            if target is None:
                return None
        return target

    def _allowed(self, request, action: Action, obj=None, *, write: bool = False) -> bool:
        scope = unit_scope(request.user, action)
        if scope.is_empty:
            return False
        if self.unit_path is None:
            # Models without a unit (years, factors, reference data) are written only globally.
            return scope.is_global or not write
        return obj is None or scope.contains(self.unit_of(obj))

    # --- permissions -----------------------------------------------------------------------
    def has_module_permission(self, request):
        return request.user.is_staff and self._allowed(request, self.view_action)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_action, obj) or self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, self.change_action, obj, write=True)

    def has_add_permission(self, request, *args):
        return self._allowed(request, self.change_action, write=True)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, self.change_action, obj, write=True)

    # --- FK dropdowns ----------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related is Unit:
            kwargs["queryset"] = unit_scope(request.user, self.change_action).units()
        else:
            related_admin = self.admin_site._registry.get(related)
            if isinstance(related_admin, ScopedAdmin):
                kwargs["queryset"] = related_admin.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- object views: out of scope is 404 ------------------------------------------------
    def _require_in_scope(self, request, object_id):
        if object_id is not None and not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404("No such object.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._require_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


admin.site.site_header = "Carbon calculator — back office"
admin.site.site_title = "Carbon back office"
admin.site.index_title = "Campaign administration"


class ScopedExportMixin(ExportMixin):
    """django-import-export's export, allowed by scope (it asks Django model permissions otherwise).

    The exported rows come from the changelist, hence from the scoped `get_queryset`.
    """

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class ScopedInlineMixin:
    """Inlines follow their parent admin's scoped permissions (not Django's model permissions)."""

    def _parent_admin(self):
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request, obj=None):
        return self._parent_admin().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)


class ReadOnlyAdminMixin:
    """For derived or operational data (entries seen from the back office, emission rows, jobs): read only."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
