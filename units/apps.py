from django.apps import AppConfig


class UnitsConfig(AppConfig):
    name = "units"
    verbose_name = "Organisation and people"

    def ready(self):
        from units import importers  # noqa: F401  (registers the `units` and `users` CSV kinds)
