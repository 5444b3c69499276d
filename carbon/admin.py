"""Back office for campaign years (settings, objectives, opening) and the reports they create."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from carbon.models import (
    CarbonReport,
    ModuleReport,
    ModuleSetting,
    ReductionObjective,
    SubmoduleSetting,
    YearConfiguration,
)
from carbon.rollover import year_rollover, year_rollover_refusals
from carbon.services import blockers_summary, year_create, year_open, year_open_blockers
from carbon.taxonomy import Module
from units.admin_display import display_kg
from units.admin_scoping import ScopedAdmin, ScopedInlineMixin


class ModuleSettingInline(ScopedInlineMixin, admin.TabularInline):
    model = ModuleSetting
    extra = 0
    can_delete = False
    fields = ("module", "enabled", "uncertainty_tag", "copied_from_year")
    readonly_fields = ("module", "copied_from_year")

    def has_add_permission(self, request, obj=None):
        return False


class SubmoduleSettingInline(ScopedInlineMixin, admin.TabularInline):
    model = SubmoduleSetting
    extra = 0
    can_delete = False
    fields = ("kind", "enabled", "threshold", "inputs_deactivated", "copied_from_year")
    readonly_fields = ("kind", "copied_from_year")

    def has_add_permission(self, request, obj=None):
        return False


class ReductionObjectiveInline(ScopedInlineMixin, admin.TabularInline):
    model = ReductionObjective
    extra = 0
    fields = ("reference_year", "target_year", "reduction_percentage", "copied_from_year")
    readonly_fields = ("copied_from_year",)


class YearAddForm(forms.ModelForm):
    """Adding a year: empty, or started from the year before it (`carbon.rollover`)."""

    start_from_last_year = forms.BooleanField(
        label=_("Start from last year"), required=False, initial=True,
        help_text=_("Copy the year before's module and submodule settings, thresholds, reduction objectives, "
                    "factors of every kind and exchange rates (marked “copied”, editable). Only the labs' data "
                    "starts empty."))

    class Meta:
        model = YearConfiguration
        fields = ("year",)

    def clean(self):
        cleaned = super().clean()
        year = cleaned.get("year")
        if year and cleaned.get("start_from_last_year"):
            if not YearConfiguration.objects.filter(year=year - 1).exists():
                self.add_error("start_from_last_year", gettext("There is no year %(year)s to start from: untick "
                                                                        "“Start from last year” to create an empty "
                                                                        "year.")
                               % {"year": year - 1})
            else:
                for refusal in year_rollover_refusals(source=year - 1, target=year):
                    self.add_error("start_from_last_year", refusal)
        return cleaned

    def validate_unique(self):
        # An empty skeleton of the year (made by "create year") may be started from last year (carbon.rollover
        # refuses a year that holds data); without that box an existing year is refused as before.
        if not self.cleaned_data.get("start_from_last_year"):
            super().validate_unique()


# Read-only sections that later apps add to a year's page (reporting: the campaign view): callables
# render(year_configuration) -> HTML, shown below the year's fields.
YEAR_PAGE_SECTIONS: list = []


@admin.register(YearConfiguration)
class YearConfigurationAdmin(ScopedAdmin):
    unit_path = None
    list_display = ("year", "is_started", "configuration_completed", "report_count")
    readonly_fields = ("is_started", "configuration_completed", "open_blockers", "next_year", "sections")
    actions = ["open_selected_years", "complete_selected_years", "start_next_year"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = YearAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("year", "start_from_last_year")
        return ("year", "is_started", "configuration_completed", "open_blockers",
                *(("next_year",) if self.has_add_permission(request) else ()),
                *(("sections",) if YEAR_PAGE_SECTIONS else ()))

    @admin.display(description=_("campaign"))
    def sections(self, obj):
        return format_html_join("", "<section>{}</section>", ((render(obj),) for render in YEAR_PAGE_SECTIONS))

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("year",) if obj else ())

    def get_inlines(self, request, obj):
        return [ModuleSettingInline, SubmoduleSettingInline, ReductionObjectiveInline] if obj else []

    @admin.display(description=_("reports"))
    def report_count(self, obj):
        return obj.reports.count()

    @admin.display(description=_("opening"))
    def open_blockers(self, obj):
        if obj.is_started:
            return gettext("Open to lab users.")
        blockers = year_open_blockers(obj)
        if not blockers:
            return gettext("Ready: use the “Open selected years” action.")
        return format_html("{} {}", gettext("Not yet."), blockers_summary(blockers))

    @admin.display(description=_("next year"))
    def next_year(self, obj):
        """A button to the add form, the next year filled in and "start from last year" ticked."""
        following = obj.year + 1
        if YearConfiguration.objects.filter(year=following).exists():
            return format_html('<a href="{}">{}</a>', reverse("admin:carbon_yearconfiguration_change",
                                                             args=[following]), following)
        return format_html('<a class="button" href="{}?{}">{}</a>', reverse("admin:carbon_yearconfiguration_add"),
                           urlencode({"year": following}),
                           gettext("Start %(next)s from %(year)s") % {"next": following, "year": obj.year})

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # Creating a year creates every active unit's report and module reports, in one transaction; started
        # from last year, it also copies last year's configuration (carbon.rollover).
        if form.cleaned_data.get("start_from_last_year"):
            rolled = year_rollover(source=obj.year - 1, target=obj.year, actor=request.user)
            obj.pk = obj.year
            messages.info(request, gettext("%(year)s started from %(source)s: %(reports)d reports created, %(rows)d "
                                           "rows copied (marked “copied from %(source)s”).") % {
                "year": obj.year, "source": rolled.source, "reports": rolled.reports_created,
                "rows": rolled.total_copied})
            return
        result = year_create(year=obj.year, actor=request.user)
        obj.pk = result.year.pk
        messages.info(request, gettext("%(reports)d reports created for %(year)s.") % {
            "reports": result.reports_created, "year": obj.year})

    @admin.action(description=_("Start the next year from the selected year"))
    def start_next_year(self, request, queryset):
        for config in queryset:
            try:
                rolled = year_rollover(source=config.year, target=config.year + 1, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                continue
            messages.success(request, gettext("%(year)s started from %(source)s: %(reports)d reports created, "
                                              "%(rows)d rows copied (marked “copied from %(source)s”).") % {
                "year": rolled.target, "source": rolled.source, "reports": rolled.reports_created,
                "rows": rolled.total_copied})

    @admin.action(description=_("Open selected years for lab users"))
    def open_selected_years(self, request, queryset):
        for config in queryset:
            try:
                year_open(year=config.year, actor=request.user)
                messages.success(request, f"{config.year} is open.")
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))

    @admin.action(description=_("Create missing reports (units added since) and complete configuration"))
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
    list_display = ("unit", "year", "completion_progress", "overall_status", "total_kg")
    list_filter = ("year",)
    search_fields = ("unit__name", "unit__institutional_id", "unit__path_name")
    list_select_related = ("unit", "year")
    inlines = [ModuleReportInline]
    readonly_fields = ("unit", "year", "totals")
    fields = ("unit", "year", "totals")

    @admin.display(description=_("kg CO₂-eq (all data)"))
    def total_kg(self, obj):
        return display_kg(obj.stats.get("total"))

    @admin.display(description=_("totals (all data, kg CO₂-eq)"))
    def totals(self, obj):
        """The report's own entries (the unit's, not its sub-units'): per scope and per module."""
        stats = obj.stats or {}
        rows = [(gettext("total"), display_kg(stats.get("total")))]
        rows += [(gettext("scope %(n)d") % {"n": n}, display_kg(stats.get(f"scope{n}"))) for n in (1, 2, 3)]
        rows += [(gettext(Module(int(module)).label), display_kg(kg)) for module, kg in
                 sorted((stats.get("by_module") or {}).items(), key=lambda item: int(item[0]))]
        return format_html('<table class="json-table"><tbody>{}</tbody></table>', format_html_join(
            "", '<tr><th scope="row">{}</th><td class="number">{}</td></tr>', rows))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("modules")

    def has_add_permission(self, request, *args):
        return False  # reports are created with their year

    def has_delete_permission(self, request, obj=None):
        return False


from carbon import admin_jobs  # noqa: E402,F401  (the pipelines console registers itself)
