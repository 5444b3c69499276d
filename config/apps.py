from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Installed so that the demo commands (`load_demo`, `run_demo`) are found; it has no models."""

    name = "config"
    verbose_name = "Project"
