from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self):
        from carbon.services import OPEN_YEAR_CHECKS
        from reporting.campaign import year_incomplete_reasons

        # "Open year" only when no enabled module is incomplete (missing factors or reference data).
        OPEN_YEAR_CHECKS.append(year_incomplete_reasons)
