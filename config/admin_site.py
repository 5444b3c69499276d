"""The back-office admin site: its index and sidebar grouped like the domain, not by Django app.

Django lists models by app, alphabetically: 14 entry kinds in "modules", 18 factor kinds in "factors". People
think in the eight activity modules, so a module's entry kinds and factor kinds are listed together, in the
taxonomy's module order, followed by reference data, the campaign, the workers' queue, people and roles, and
audit. The groups are derived from the registries (`modules.registry.KINDS`, `factors.base.FACTOR_KINDS`), never
from a hand-written list, so a new kind lands in its module by itself. A model no rule places stays reachable in
a last "Other" group. An app's own index page (`/admin/<app>/`) keeps Django's per-app list.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

# Sections after the eight modules: (id, title, the app labels whose remaining models they hold).
SECTIONS = (
    ("reference", _("Reference data"), ("factors",)),
    ("campaign", _("Campaign"), ("carbon", "reporting", "modules")),
    ("queue", _("Workers' task queue"), ("django_q",)),
    ("people", _("Organisation, people and roles"), ("units", "axes", "auth", "authtoken")),
    ("audit", _("Audit"), ("audit",)),
)
OTHER = ("other", _("Other"))
# Within a section, the order a person works in (years before their reports …); models not named follow by name.
SECTION_ORDER = ("yearconfiguration", "carbonreport", "modulereport", "emission", "pipeline", "job", "worker",
                 "recalculationstate", "unit", "user", "unitrolegrant", "accessattempt")


def module_of_model() -> dict[type, object]:
    """model → its activity module (`carbon.taxonomy.Module`): entry models by their kind, factor models by the
    module of the entry kinds they are used for (a factor kind no entry kind uses has none)."""
    from factors.base import FACTOR_KINDS
    from modules.registry import KINDS

    modules = {spec.model: spec.module for spec in KINDS.values()}
    for factor in FACTOR_KINDS.values():
        used_by = [KINDS[name].module for name in factor.recalculates if name in KINDS]
        if used_by:
            modules.setdefault(factor.model, min(used_by))
    return modules


def domain_groups(model_dicts: list[dict]) -> list[dict]:
    """Django's per-model dicts (each with its "model" class) regrouped: modules, then SECTIONS, then Other."""
    from carbon.taxonomy import Module

    modules = module_of_model()
    section_of_app = {app: section for section, _title, apps in SECTIONS for app in apps}
    placed: dict[str, list[dict]] = {}
    for entry in model_dicts:
        model = entry["model"]
        module = modules.get(model)
        key = f"module-{module.name}" if module is not None else section_of_app.get(model._meta.app_label, OTHER[0])
        placed.setdefault(key, []).append(entry)
    titles = [(f"module-{m.name}", _(m.label)) for m in Module]
    titles += [(section, title) for section, title, _apps in SECTIONS] + [OTHER]
    groups = []
    for key, title in titles:
        if key in placed:
            groups.append({"name": title, "app_label": key, "app_url": "", "has_module_perms": True,
                           "models": sorted(placed[key], key=_model_order)})
    return groups


def _model_order(entry: dict) -> tuple:
    """Entry kinds before factor kinds within a module; SECTION_ORDER in a section; then by name."""
    from factors.base import Factor

    name = entry["model"]._meta.model_name
    rank = SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER)
    return (issubclass(entry["model"], Factor), rank, str(entry["name"]).lower())


class BackOfficeSite(AdminSite):
    site_header = _("Carbon calculator — back office")
    site_title = _("Carbon back office")
    index_title = _("Campaign administration")

    def each_context(self, request):
        """Plus `can_report`: the index links the reporting pages for those who may read reports (metier, admin)."""
        from units.scoping import Action, unit_scope

        context = super().each_context(request)
        user = getattr(request, "user", None)
        context["can_report"] = bool(user and user.is_authenticated and not unit_scope(user, Action.REPORT).is_empty)
        return context

    def get_app_list(self, request, app_label=None):
        if app_label is not None:
            return super().get_app_list(request, app_label)
        app_dict = self._build_app_dict(request)
        return domain_groups([entry for app in app_dict.values() for entry in app["models"]])


class BackOfficeAdminConfig(AdminConfig):
    """Installed instead of `django.contrib.admin` (settings.INSTALLED_APPS): `admin.site` is a BackOfficeSite."""

    default_site = "config.admin_site.BackOfficeSite"
