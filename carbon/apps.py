from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CarbonConfig(AppConfig):
    name = "carbon"
    verbose_name = _("Campaign years and reports")

    def ready(self):
        from carbon.jobs.handlers import import_handler
        from carbon.jobs.models import JobType
        from carbon.jobs.runner import register_handler

        register_handler(JobType.IMPORT, import_handler)
        post_migrate.connect(ensure_sweep_schedule, sender=self, dispatch_uid="carbon-sweep-schedule")


def ensure_sweep_schedule(**kwargs):
    """The sweep of stuck jobs runs every minute in the worker cluster (django-q2 schedule)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="carbon-jobs-sweep",
        defaults={"func": "carbon.jobs.tasks.sweep_task", "schedule_type": Schedule.MINUTES, "minutes": 1,
                  "repeats": -1},
    )
