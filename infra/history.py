"""Who and why for history rows written outside a request: the command line and the background jobs.

A command or a job runs its writes inside `write_origin("command line: import_csv", user=operator)` (or
`"job 42"`). Every history row written meanwhile — a model `save()` (through simple-history's
`pre_create_historical_record`, connected in `audit.apps`), the bulk helpers below, and the COPY writers in
`infra.bulk` — gets the origin's user when it has none, and the origin appended to its change reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from simple_history import utils as _history_utils

__all__ = ["Origin", "actor_label", "bulk_create_with_history", "bulk_update_with_history", "current_origin",
           "history_reason", "history_user", "with_origin",
           "write_origin"]


@dataclass(frozen=True)
class Origin:
    label: str  # "command line: import_csv", "job 42"
    user: Any = None
    actor_label: str = ""  # who, in words: "operator alice" when no account is named


_origin: ContextVar[Origin | None] = ContextVar("write_origin", default=None)


@contextmanager
def write_origin(label: str, *, user=None, actor_label: str = "") -> Iterator[Origin]:
    origin = Origin(label=label, user=user, actor_label=actor_label or (user.get_username() if user else ""))
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)


def current_origin() -> Origin | None:
    return _origin.get()


def history_user(user):
    """`user`, else the current origin's user (None outside an origin)."""
    if user is not None:
        return user
    origin = _origin.get()
    return origin.user if origin else None


def actor_label(actor) -> str:
    """Who, in words: the actor's login, else the current origin's operator, else ""."""
    if actor is not None:
        return actor.get_username()
    origin = _origin.get()
    return origin.actor_label if origin else ""


def with_origin(reason: str | None, label: str) -> str:
    """`reason` ending with "; label" (once): the trail reads a history row's source from that suffix."""
    if reason and (reason == label or reason.endswith(f"; {label}")):
        return reason
    return f"{reason}; {label}" if reason else label


def history_reason(reason: str | None) -> str | None:
    """`reason` with the current origin appended ("units CSV import; command line: import_csv")."""
    origin = _origin.get()
    if origin is None:
        return reason
    return with_origin(reason, origin.label)


def bulk_create_with_history(objs, model, *, default_user=None, default_change_reason="", **kwargs):
    return _history_utils.bulk_create_with_history(
        objs, model, default_user=history_user(default_user),
        default_change_reason=history_reason(default_change_reason) or "", **kwargs)


def bulk_update_with_history(objs, model, fields, *, default_user=None, default_change_reason="", **kwargs):
    return _history_utils.bulk_update_with_history(
        objs, model, fields, default_user=history_user(default_user),
        default_change_reason=history_reason(default_change_reason) or "", **kwargs)
