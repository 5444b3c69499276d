from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UnitsConfig(AppConfig):
    name = "units"
    verbose_name = _("Organisation and people")

    def ready(self):
        from infra.importing import set_access_policy
        from units import importers  # noqa: F401  (registers the `units` and `users` CSV kinds)
        from units.scoping import import_refusal

        set_access_policy(import_refusal)
