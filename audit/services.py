"""The one writer of audit events. Lower layers reach it through `infra.events.emit` (a signal)."""

from __future__ import annotations

import ipaddress

from django.contrib.auth import get_user_model

from audit.models import AuditEvent

__all__ = ["record"]

# Never stored, whatever a caller passes in `details`.
SECRET_KEYS = frozenset({"password", "token", "secret", "authorization", "access_token", "id_token",
                         "refresh_token", "credentials"})


def _request_meta(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    from units.auth import client_address

    address = client_address(request)
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        address = None
    return address, request.META.get("HTTP_USER_AGENT", "")


def _clean(details: dict) -> dict:
    return {key: ("[withheld]" if key.lower() in SECRET_KEYS else value) for key, value in details.items()}


def record(action: str, *, source: str, actor=None, actor_label: str = "", unit=None, obj=None, request=None,
           **details) -> AuditEvent:
    """Append one event. `actor_label` defaults to the actor's institutional id; never empty."""
    if actor is None and request is not None and getattr(request.user, "is_authenticated", False):
        actor = request.user
    if actor is not None and not isinstance(actor, get_user_model()):
        actor = None
    label = actor_label or (actor.institutional_id if actor is not None else "") or "unknown"
    ip_address, user_agent = _request_meta(request)
    return AuditEvent.objects.create(
        action=action, source=source, actor=actor, actor_label=label, unit=unit,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip_address, user_agent=user_agent, details=_clean(details),
    )
