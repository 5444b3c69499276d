"""What the audit app listens to: sign-in and sign-out, the events other apps emit (`infra.events`), and
the history rows written under a command-line or job origin (`infra.history`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.utils import timezone
from simple_history.signals import pre_create_historical_record

from audit.models import AuditAction, AuditSource
from audit.services import record
from infra.events import audit_event
from infra.history import current_origin, with_origin


def on_audit_event(sender, *, action, source, actor=None, actor_label="", unit=None, obj=None, request=None,
                   details=None, **kwargs):
    record(action, source=source, actor=actor, actor_label=actor_label, unit=unit, obj=obj, request=request,
           **(details or {}))


def on_signed_in(sender, request, user, **kwargs):
    record(AuditAction.SIGNED_IN, source=AuditSource.AUTH, actor=user, request=request,
           backend=getattr(user, "backend", "") or "")


def on_signed_out(sender, request, user, **kwargs):
    if user is None:  # no one was signed in
        return
    record(AuditAction.SIGNED_OUT, source=AuditSource.AUTH, actor=user, request=request)


def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked secrets in `credentials`; only the login tried is kept, never the rest.
    field = get_user_model().USERNAME_FIELD
    login = str(credentials.get("username") or credentials.get(field) or "")
    record(AuditAction.SIGN_IN_FAILED, source=AuditSource.AUTH, actor_label=login or "(no login given)",
           request=request)


def update_last_login(sender, user, **kwargs):
    """Django's receiver saves the user, and a save writes a user history row: a queryset update does not."""
    now = timezone.now()
    type(user)._default_manager.filter(pk=user.pk).update(last_login=now)
    user.last_login = now


def on_history_row(sender, *, history_instance, **kwargs):
    """A model saved under an origin (a request, a command, a job): its history row names the origin (and the
    operator, for a command)."""
    origin = current_origin()
    if origin is None:
        return
    if history_instance.history_user_id is None and origin.user is not None:
        history_instance.history_user = origin.user
    history_instance.history_change_reason = with_origin(history_instance.history_change_reason, origin.label)


def connect() -> None:
    audit_event.connect(on_audit_event, dispatch_uid="audit_event_record")
    user_logged_in.connect(on_signed_in, dispatch_uid="audit_signed_in")
    user_logged_out.connect(on_signed_out, dispatch_uid="audit_signed_out")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="audit_sign_in_failed")
    user_logged_in.disconnect(dispatch_uid="update_last_login")
    user_logged_in.connect(update_last_login, dispatch_uid="audit_update_last_login")
    pre_create_historical_record.connect(on_history_row, dispatch_uid="audit_history_origin")
