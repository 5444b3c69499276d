from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModulesConfig(AppConfig):
    name = "modules"
    verbose_name = _("Activity modules")

    def ready(self):
        from infra.discovery import submodules
        from modules.kinds import install_kind

        # Each module sub-package declares its kinds in `kind.py` as SPEC (or SPECS).
        for module in submodules("modules", "kind"):
            for spec in getattr(module, "SPECS", None) or [module.SPEC]:
                install_kind(spec)
        from factors.signals import factors_changed, reference_data_changed
        from modules.engine import on_factors_changed, on_reference_data_changed

        reference_data_changed.connect(on_reference_data_changed, dispatch_uid="modules-reference-data")
        factors_changed.connect(on_factors_changed, dispatch_uid="modules-factors-changed")
        from modules import jobs

        jobs.register()
