"""Back office for campaign years (settings, objectives, opening) and the reports they create."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join

from carbon.models import (
    CarbonReport,
    ModuleReport,
    ModuleSetting,
    ReductionObjective,
    SubmoduleSetting,
    YearConfiguration,
)
from carbon.services import year_create, year_open, year_open_blockers
from units.admin_scoping import ScopedAdmin, ScopedInlineMixin


class ModuleSettingInline(ScopedInlineMixin, admin.TabularInline):
    model = ModuleSetting
    extra = 0
    can_delete = False
    fields = ("module", "enabled", "uncertainty_tag")
    readonly_fields = ("module",)

    def has_add_permission(self, request, obj=None):
        return False


class SubmoduleSettingInline(ScopedInlineMixin, admin.TabularInline):
    model = SubmoduleSetting
    extra = 0
    can_delete = False
    fields = ("kind", "enabled", "threshold", "inputs_deactivated")
    readonly_fields = ("kind",)

    def has_add_permission(self, request, obj=None):
        return False


class ReductionObjectiveInline(ScopedInlineMixin, admin.TabularInline):
    model = ReductionObjective
    extra = 0


# Read-only sections that later apps add to a year's page (reporting: the campaign view): callables
# render(year_configuration) -> HTML, shown below the year's fields.
YEAR_PAGE_SECTIONS: list = []


@admin.register(YearConfiguration)
class YearConfigurationAdmin(ScopedAdmin):
    unit_path = None
    list_display = ("year", "is_started", "configuration_completed", "report_count")
    readonly_fields = ("is_started", "configuration_completed", "open_blockers", "sections")
    actions = ["open_selected_years", "complete_selected_years"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("year",)
        return ("year", "is_started", "configuration_completed", "open_blockers",
                *(("sections",) if YEAR_PAGE_SECTIONS else ()))

    @admin.display(description="campaign")
    def sections(self, obj):
        return format_html_join("", "<section>{}</section>", ((render(obj),) for render in YEAR_PAGE_SECTIONS))

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("year",) if obj else ())

    def get_inlines(self, request, obj):
        return [ModuleSettingInline, SubmoduleSettingInline, ReductionObjectiveInline] if obj else []

    @admin.display(description="reports")
    def report_count(self, obj):
        return obj.reports.count()

    @admin.display(description="can it be opened?")
    def open_blockers(self, obj):
        if obj.is_started:
            return "Open."
        blockers = year_open_blockers(obj)
        return "Yes: use the “Open selected years” action." if not blockers else "No: " + "; ".join(blockers)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # Creating a year creates every active unit's report and module reports, in one transaction.
        result = year_create(year=obj.year, actor=request.user)
        obj.pk = result.year.pk
        messages.info(request, f"{result.reports_created} reports created for {obj.year}.")

    @admin.action(description="Open selected years for lab users")
    def open_selected_years(self, request, queryset):
        for config in queryset:
            try:
                year_open(year=config.year, actor=request.user)
                messages.success(request, f"{config.year} is open.")
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))

    @admin.action(description="Create missing reports (units added since) and complete configuration")
    def complete_selected_years(self, request, queryset):
        for config in queryset:
            result = year_create(year=config.year, actor=request.user)
            messages.success(request, f"{config.year}: {result.reports_created} reports added.")


class ModuleReportInline(ScopedInlineMixin, admin.TabularInline):
    model = ModuleReport
    extra = 0
    can_delete = False
    fields = ("module", "status", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CarbonReport)
class CarbonReportAdmin(ScopedAdmin):
    unit_path = "unit__"
    list_display = ("unit", "year", "completion_progress", "overall_status")
    list_filter = ("year",)
    search_fields = ("unit__name", "unit__institutional_id", "unit__path_name")
    list_select_related = ("unit", "year")
    inlines = [ModuleReportInline]
    readonly_fields = ("unit", "year")
    fields = ("unit", "year")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("modules")

    def has_add_permission(self, request, *args):
        return False  # reports are created with their year

    def has_delete_permission(self, request, obj=None):
        return False


from carbon import admin_jobs  # noqa: E402,F401  (the pipelines console registers itself)
