"""The base admin that routes every admin surface through the scoping function.

Changelists, change/delete/history views, actions and import-export's export all start from
`get_queryset`; FK dropdowns from `scoped_choices`; permissions from `has_*_permission`.
Out-of-scope objects and malformed ids answer 404 (not 403, not a redirect, never 500): the response
says nothing about what exists.

Writes are closed on every URL, not only on `/change/`: simple-history's version page asks Django's
"view or change" and would save a POST as a viewer, so it is routed through `has_change_permission`
here; custom actions require change permission unless they declare otherwise, and act only on objects
the user may change.
"""

from __future__ import annotations

import functools

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from infra.csvio import neutralize_formula
from infra.events import emit
from units.models import Unit
from units.scoping import Action, unit_scope

__all__ = ["UNSCOPED", "ReadOnlyAdminMixin", "ScopedAdmin", "ScopedExportMixin", "ScopedInlineMixin",
           "unit_path_of"]

# A model reaches `Unit` through a lookup path ("unit__", "report__unit__"), is global reference data
# (None: readable with any scope, written only globally) or has no rule: UNSCOPED, and then nobody gets
# its rows as choices. Models without an admin of their own declare `scope_unit_path` on the class.
UNSCOPED = object()


def unit_path_of(model: type[Model]):
    if model is Unit:
        return ""
    registered = admin.site._registry.get(model)
    if isinstance(registered, ScopedAdmin):
        return registered.unit_path
    return getattr(model, "scope_unit_path", UNSCOPED)


def scoped_choices(request, model: type[Model], action: Action) -> QuerySet:
    """The rows of `model` a user may pick in a form whose saving needs `action` (deny by default)."""
    queryset = model._default_manager.all()
    path = unit_path_of(model)
    scope = unit_scope(request.user, action)
    if path is UNSCOPED or scope.is_empty:
        return queryset.none()
    if path is None:
        return queryset
    return queryset.filter(scope.q(path))


# The admin's "Reason for the change" field, saved as simple-history's change reason (a 100-character column:
# the form refuses longer text rather than cutting it).
CHANGE_REASON_FIELD = "change_reason"
CHANGE_REASON_MAX_LENGTH = 100


def _has_history(model: type[Model]) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


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

    def changeable_queryset(self, request, queryset):
        """`queryset` narrowed to the objects the user may change (actions act on these only)."""
        scope = unit_scope(request.user, self.change_action)
        if scope.is_empty or (self.unit_path is None and not scope.is_global):
            return queryset.none()
        return queryset if self.unit_path is None else queryset.filter(scope.q(self.unit_path))

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

    def has_operate_permission(self, request):
        """Operations on read-only rows (abort, recover, recalculate, resubmit): `permissions=["operate"]`
        on an action. Like a write of a model without a unit: the change action, globally."""
        scope = unit_scope(request.user, self.change_action)
        return scope.is_global

    # History pages follow the object's own rights (simple-history would ask model permissions).
    def has_view_history_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_change_history_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    # --- actions ---------------------------------------------------------------------------
    def get_actions(self, request):
        """Actions that declare no permission need change permission; all act on changeable objects only."""
        actions = {}
        for name, (func, action_name, description) in super().get_actions(request).items():
            if getattr(func, "allowed_permissions", None) is None and not self.has_change_permission(request):
                continue
            actions[name] = (self._narrowed_action(func), action_name, description)
        return actions

    def _narrowed_action(self, func):
        @functools.wraps(func)
        def narrowed(modeladmin, request, queryset):
            return func(modeladmin, request, self.changeable_queryset(request, queryset))

        return narrowed

    # --- FK dropdowns ----------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = scoped_choices(request, db_field.related_model, self.change_action)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = scoped_choices(request, db_field.related_model, self.change_action)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- object views: out of scope or malformed is 404 -----------------------------------
    def _require_in_scope(self, request, object_id):
        if object_id is None:
            return
        try:
            pk = self.model._meta.pk.to_python(unquote(object_id))
        except (ValidationError, ValueError, TypeError):
            raise Http404(_("No such object."))
        if not self.get_queryset(request).filter(pk=pk).exists():
            raise Http404(_("No such object."))

    def _require_history(self, version_id=None):
        if not _has_history(self.model):
            raise Http404(_("This kind of object keeps no history."))
        if version_id is not None and not str(version_id).isdigit():
            raise Http404(_("No such version."))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._require_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        self._require_history()
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """A version page: a form for those who may change the object, a read-only page for viewers."""
        self._require_in_scope(request, object_id)
        self._require_history(version_id)
        obj = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, obj):
            if request.method not in {"GET", "HEAD"}:
                raise PermissionDenied
            request._version_read_only = True  # read by get_readonly_fields below
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- the reason for the change (simple-history's change reason), prompted on write forms ----------
    def _reason_prompted(self, request, obj) -> bool:
        if getattr(request, "_version_read_only", False) or not _has_history(self.model):
            return False
        return self.has_change_permission(request, obj) if obj is not None else self.has_add_permission(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        fields = kwargs.pop("fields") if "fields" in kwargs else flatten_fieldsets(self.get_fieldsets(request, obj))
        if fields:
            fields = [name for name in fields if name != CHANGE_REASON_FIELD]
        form = super().get_form(request, obj, change=change, fields=fields or None, **kwargs)
        if not self._reason_prompted(request, obj):
            return form
        reason = forms.CharField(
            label=_("Reason for the change"), required=False, max_length=CHANGE_REASON_MAX_LENGTH,
            help_text=_("Optional; kept with this version in the object's history."),
        )
        return type(form)(form.__name__, (form,), {CHANGE_REASON_FIELD: reason})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        kept = [(name, {**options, "fields": [f for f in options["fields"] if f != CHANGE_REASON_FIELD]})
                for name, options in fieldsets]
        if not self._reason_prompted(request, obj):
            return kept
        return [*kept, (_("Reason for the change"), {"fields": [CHANGE_REASON_FIELD]})]

    def save_model(self, request, obj, form, change):
        reason = (getattr(form, "cleaned_data", None) or {}).get(CHANGE_REASON_FIELD, "").strip()
        if reason:
            obj._change_reason = reason
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if getattr(request, "_version_read_only", False):
            editable = [f.name for f in self.model._meta.get_fields()
                        if getattr(f, "editable", False) and f.concrete and not f.auto_created]
            return (*readonly, *(name for name in editable if name not in readonly))
        return readonly


admin.site.site_header = _("Carbon calculator — back office")
admin.site.site_title = _("Carbon back office")
admin.site.index_title = _("Campaign administration")


class ScopedExportMixin(ExportMixin):
    """django-import-export's export, allowed by scope (it asks Django model permissions otherwise).

    The exported rows come from the changelist, hence from the scoped `get_queryset`; every cell, in
    every format, goes through the one formula-neutralising function before it is written. Each export is
    an audit event (`exported`, source admin) with the model, the format and the row count.
    """

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        request._export_format = getattr(file_format, "get_title", lambda: str(file_format))()
        return super().get_export_data(file_format, request, queryset, **kwargs)

    def get_data_for_export(self, request, queryset, **kwargs):
        dataset = super().get_data_for_export(request, queryset, **kwargs)
        headers = [neutralize_formula(h) for h in dataset.headers or []]
        rows = [tuple(neutralize_formula(cell) for cell in row) for row in dataset]
        dataset.wipe()
        dataset.headers = headers
        for row in rows:
            dataset.append(row)
        emit("exported", source="admin", actor=request.user, request=request, model=self.model._meta.label_lower,
             format=getattr(request, "_export_format", ""), rows=len(rows))
        return dataset


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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = scoped_choices(request, db_field.related_model, self._parent_admin().change_action)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """For derived or operational data (entries seen from the back office, emission rows, jobs): read only."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
