from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FactorsConfig(AppConfig):
    name = "factors"
    verbose_name = _("Emission factors and reference data")

    def ready(self):
        from carbon.rollover import ROLLOVER_COPIES
        from factors import importers  # noqa: F401  (registers the reference-data CSV kinds)
        from factors.base import register_factor_kind
        from factors.rollover import FACTORS_ROLLOVER
        from infra.discovery import plain_modules

        # Each factor kind module declares its FactorKindSpec(s) as SPEC (or SPECS).
        for module in plain_modules("factors.kinds"):
            for spec in getattr(module, "SPECS", None) or [module.SPEC]:
                register_factor_kind(spec)
        ROLLOVER_COPIES.append(FACTORS_ROLLOVER)  # the year rollover copies every factor kind and the rates
