"""The audit trail of events that are not model changes (sign-ins, validations, uploads, exports…).

Model changes are in the django-simple-history tables; `AuditEvent` holds the rest. Rows are only ever
added, through `audit.services.record` (lower layers reach it through `infra.events.emit`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["AuditAction", "AuditEvent", "AuditSource", "ChainLink"]


class AuditAction(models.TextChoices):
    SIGNED_IN = "signed_in", _("signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
    SIGNED_OUT = "signed_out", _("signed out")
    ROLES_CHANGED = "roles_changed", _("roles changed")
    MODULE_VALIDATED = "module_validated", _("module validated")
    MODULE_UNVALIDATED = "module_unvalidated", _("module un-validated")
    UPLOAD_STARTED = "upload_started", _("upload started")
    IMPORT_FINISHED = "import_finished", _("import finished")
    EXPORTED = "exported", _("exported")
    DOWNLOADED = "downloaded", _("downloaded")
    RECALCULATION_STARTED = "recalculation_started", _("recalculation started")


class AuditSource(models.TextChoices):
    ADMIN = "admin", _("admin")
    LAB = "lab", _("lab pages")
    API = "api", _("API")
    JOB = "job", _("background job")
    COMMAND = "command", _("command line")
    RECALCULATION = "recalculation", _("recalculation")
    AUTH = "auth", _("sign-in")


class AuditEvent(models.Model):
    """One event. Append-only: no page, command or API changes or deletes a row.

    `actor` and `unit` are references without a database constraint (DO_NOTHING): deleting an account or a
    unit never rewrites the trail, which keeps the id, and `actor_label` says who in words.
    """

    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
        on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
    )
    # Who, in words: the login tried (failed sign-in), "operator <name>" (command line), else the user.
    actor_label = models.TextField(_("actor label"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=AuditSource.choices)
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(models.F("occurred_at").desc(), models.F("id").desc(), name="audit_event_recent"),
            models.Index(fields=["actor"], name="audit_event_actor"),
            models.Index(fields=["unit"], name="audit_event_unit"),
            models.Index(fields=["action"], name="audit_event_action"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_action_display()} ({self.actor_label})"


class ChainLink(models.Model):
    """One link of a tracked table's hash chain, written only by the `audit_chain_append` trigger.

    A model (not only a table) so that test-database flushes empty it together with the history tables.
    See `audit.chain`.
    """

    table_name = models.TextField()
    row_id = models.BigIntegerField()
    row_hash = models.BinaryField()
    prev_hash = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "audit_chain"
        indexes = [models.Index(fields=["table_name", "id"], name="audit_chain_walk")]

    def __str__(self) -> str:
        return f"{self.table_name} #{self.row_id}"
