"""Audit events raised anywhere, written by the `audit` app.

Apps below `audit` in the layers may not import it, so they call `emit(...)`: it sends the `audit_event`
signal, and `audit.apps` connects the one receiver that writes the row (`audit.services.record`). The
signal is sent with `send`, not `send_robust`: a failed audit write fails the action that raised it.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["audit_event", "emit"]

# kwargs: action, source, actor, actor_label, unit, obj, request, details
audit_event = Signal()


def emit(action: str, *, source: str, actor=None, actor_label: str = "", unit=None, obj=None, request=None,
         **details) -> None:
    """Record an audit event (see `audit.models.AuditAction` and `AuditSource` for the values)."""
    audit_event.send(sender=None, action=action, source=source, actor=actor, actor_label=actor_label,
                     unit=unit, obj=obj, request=request, details=details)
