"""Audit events in the back office: read-only, for auditors and back-office admins, scoped by unit.

Events without a unit (sign-ins, command-line runs…) are seen by global auditors and admins only: the scope
filter on `unit__` leaves them out of every narrower scope.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from units.admin_display import json_table
from units.admin_scoping import ReadOnlyAdminMixin, ScopedAdmin
from units.scoping import Action, unit_scope


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    unit_path = "unit__"
    view_action = Action.AUDIT
    change_action = Action.AUDIT
    list_display = ("occurred_at", "action", "actor_label", "source", "unit", "object_type", "object_id",
                    "ip_address")
    list_filter = ("action", "source")
    search_fields = ("actor_label", "object_id", "object_type")
    date_hierarchy = "occurred_at"
    list_select_related = ("unit", "actor")
    readonly_fields = ("occurred_at", "action", "actor", "actor_label", "source", "unit", "object_type",
                       "object_id", "ip_address", "user_agent", "details_table")
    fields = readonly_fields

    @admin.display(description=_("details"))
    def details_table(self, obj):
        return json_table(obj.details)  # a table, escaped; not raw JSON
    show_full_result_count = False

    actions = None

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.unit_id is None:
            return unit_scope(request.user, self.view_action).is_global
        return self._allowed(request, self.view_action, obj)
