from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_chain_triggers(sender, using="default", **kwargs):
    from audit.chain import install_triggers

    install_triggers(using=using)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        # After every migrate, idempotently: a history table added later by any app gets the triggers too.
        post_migrate.connect(_install_chain_triggers, sender=self, dispatch_uid="audit.chain.install")
        # Sign-in/out, the events other apps emit (infra.events), and history rows under a command or a job.
        from audit import receivers

        receivers.connect()
