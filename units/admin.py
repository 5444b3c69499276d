"""Back office for the organisation tree, users and their role grants."""

from __future__ import annotations

from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from rest_framework.authtoken.models import TokenProxy

from units.admin_scoping import ScopedAdmin, ScopedExportMixin, ScopedInlineMixin
from units.models import Unit, UnitRoleGrant, User
from units.roles import Role, ScopeKind
from units.scoping import Action, unit_scope
from units.selectors import user_roles
from units.services import role_permission


class UnitResource(resources.ModelResource):
    """The `units` CSV contract's columns (parent by its code, never an id), then the paths for people."""

    parent_institutional_code = fields.Field(attribute="parent__institutional_code",
                                             column_name="parent_institutional_code", readonly=True)

    class Meta:
        model = Unit
        fields = ("institutional_code", "institutional_id", "name", "label_en", "label_fr", "level",
                  "parent_institutional_code", "unit_type_label", "principal_user_institutional_id", "is_active",
                  "path_institutional_code", "path_name")
        export_order = fields

    @classmethod
    def get_display_name(cls):
        return gettext("As the units CSV file")


@admin.register(Unit)
class UnitAdmin(ScopedExportMixin, ScopedAdmin):
    unit_path = ""
    resource_classes = [UnitResource]
    list_display = ("name", "institutional_id", "institutional_code", "level", "path_name", "children_link",
                    "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("name", "institutional_code", "institutional_id", "label_en", "label_fr", "path_name")
    search_help_text = _("Name, code, cf, label or path.")
    readonly_fields = ("path_institutional_code", "path_institutional_id", "path_name")
    autocomplete_fields = ("parent",)
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(children_count=Count("children"))

    @admin.display(description=_("children"), ordering="children_count")
    def children_link(self, obj):
        if not obj.children_count:
            return "0"
        url = reverse("admin:units_unit_changelist") + f"?parent__id__exact={obj.pk}"
        return format_html('<a href="{}">{} ›</a>', url, obj.children_count)

    def save_model(self, request, obj, form, change):
        from units.services import unit_paths_recompute

        if not obj.path_name:
            obj.path_name = obj.name
            obj.path_institutional_code = obj.institutional_code
        super().save_model(request, obj, form, change)
        unit_paths_recompute(actor=request.user, reason="unit edited in the admin")


class GlobalRolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class UserAdminForm(forms.ModelForm):
    global_roles = GlobalRolesField(
        required=False,
        choices=[(r.value, r.label) for r in Role if ScopeKind.GLOBAL in r.scope_kinds],
        help_text=_("Roles over the whole institution. Unit-anchored roles are role grants."),
    )

    class Meta:
        model = User
        fields = ("institutional_id", "provider", "email", "display_name", "is_active")


class RoleGrantInline(ScopedInlineMixin, admin.TabularInline):
    model = UnitRoleGrant
    fk_name = "user"
    extra = 0
    fields = ("permission", "content_object")
    readonly_fields = ("permission", "content_object")
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(ScopedAdmin):
    unit_path = None
    view_action = Action.MANAGE
    form = UserAdminForm
    list_display = ("institutional_id", "provider", "display_name", "email", "roles_summary", "is_active")
    list_filter = ("provider", "is_active")
    search_fields = ("institutional_id", "display_name", "email")
    inlines = [RoleGrantInline]
    readonly_fields = ("last_login", "last_roles_sync_at", "date_joined")

    @admin.display(description=_("roles"))
    def roles_summary(self, obj):
        return ", ".join(str(held.as_spec()) for held in user_roles(obj)) or "—"

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form.base_fields["global_roles"].initial = [
                held.role.value for held in user_roles(obj) if held.kind is ScopeKind.GLOBAL
            ]
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        wanted = {Role(value) for value in form.cleaned_data.get("global_roles", [])}
        for role in Role:
            if ScopeKind.GLOBAL in role.scope_kinds:
                permission = role_permission(role)
                (obj.user_permissions.add if role in wanted else obj.user_permissions.remove)(permission)


class RoleGrantForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(r.value, f"{r.label} ({'/'.join(sorted(r.scope_kinds))})")
                                      for r in Role if r.scope_kinds - {ScopeKind.GLOBAL}])

    class Meta:
        model = UnitRoleGrant
        fields = ("user", "role", "content_object")
        labels = {"content_object": "Unit (the scope's anchor)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = next(
                (r.value for r in Role if r.codename == self.instance.permission.codename), None)

    def save(self, commit=True):
        role = Role(self.cleaned_data["role"])
        self.instance.permission = role_permission(role)
        return super().save(commit)


class RoleFilter(admin.SimpleListFilter):
    """The few roles, not Django's permission table (a filter over every permission listed thousands of options
    and made the page 25,891 px tall)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(role.value, role.label) for role in Role if role.scope_kinds - {ScopeKind.GLOBAL}]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        role = next((r for r in Role if r.value == self.value()), None)
        return queryset.filter(permission__codename=role.codename) if role else queryset.none()


@admin.register(UnitRoleGrant)
class UnitRoleGrantAdmin(ScopedAdmin):
    unit_path = "content_object__"
    form = RoleGrantForm
    list_display = ("user", "role", "content_object")
    list_filter = (RoleFilter,)
    search_fields = ("user__institutional_id", "user__display_name", "content_object__name",
                     "content_object__institutional_id")
    autocomplete_fields = ("user", "content_object")
    list_select_related = ("user", "permission", "content_object")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(permission__codename__in=[r.codename for r in Role])

    @admin.display(description=_("role"), ordering="permission__codename")
    def role(self, obj):
        return next((r.label for r in Role if r.codename == obj.permission.codename), obj.permission.codename)

    def has_module_permission(self, request):
        return request.user.is_staff and not unit_scope(request.user, Action.BROWSE).is_empty


# Roles are grants on units, not Django groups: the library's group page would be a second, unscoped
# way to hand out permissions.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)
# API tokens are issued by the operator (manage.py api_token) and shown once: no page lists them.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(AccessAttempt)
class LockoutAdmin(ScopedAdmin):
    """Password-login lockouts (django-axes): global admins see them and delete one to unlock early."""

    unit_path = None
    view_action = Action.MANAGE
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    search_fields = ("username", "ip_address")
    readonly_fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "get_data",
                       "post_data", "path_info")

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False
