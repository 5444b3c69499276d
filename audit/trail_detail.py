"""One row of the auditor's trail, whole: a history row's diff (field: before → after, with labels) or an
event's every detail, with links to the object, its history and, for an import, its job.

Read through the same scoped querysets as the trail (`scoped_history`, `scoped_events`): a row the
auditor cannot see in the list is a 404 here too. Values are shown whole (nothing is cut on this page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _

from audit.sources import history_source, job_id, operator
from audit.trail import (
    EVENT_TABLE,
    HISTORY_ACTIONS,
    admin_link,
    event_job,
    model_for_table,
    object_page,
    scoped_events,
    scoped_history,
)
from carbon.jobs.models import Job

__all__ = ["Change", "TrailEntry", "trail_entry"]

_HISTORY_ACTION = {value: key for key, value in HISTORY_ACTIONS.items()}


@dataclass
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclass
class TrailEntry:
    kind: str  # "history" or "event"
    when: object
    action: str
    object_type: str
    object_id: str
    actor: str
    source: str
    reason: str
    changes: list[Change] = field(default_factory=list)  # history rows
    details: list[tuple[str, str]] = field(default_factory=list)  # events: every field, whole
    object_link: str = ""
    history_link: str = ""
    job: Job | None = None
    job_link: str = ""


def _shown(model_field, value) -> str:
    """A stored value in words: a choice's label, a related object's name (and id), "—" for nothing."""
    if value is None or value == "":
        return "—"
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.ForeignKey):
        related = model_field.related_model._default_manager.filter(pk=value).first()
        return f"{related} (#{value})" if related is not None else f"#{value}"
    return str(value)


def _tracked_fields(history_model, base):
    """(attname, the base model's field) of every field the history row holds, in the model's order."""
    history_names = {f.attname for f in history_model._meta.concrete_fields}
    return [(f.attname, f) for f in base._meta.concrete_fields if f.attname in history_names]


def _history_entry(user, table: str, pk: int) -> TrailEntry | None:
    model = model_for_table(table)
    qs = scoped_history(model, user) if model is not None else None
    item = qs.filter(history_id=pk).select_related("history_user").first() if qs is not None else None
    if item is None:
        return None
    base = model.instance_type
    previous = item.prev_record
    changes = []
    for attname, base_field in _tracked_fields(model, base):
        after = getattr(item, attname)
        before = getattr(previous, attname) if previous is not None else None
        if item.history_type == "-":
            before, after = after, None
        if previous is not None and item.history_type == "~" and before == after:
            continue
        if before is None and after is None:
            continue
        changes.append(Change(field=attname, label=str(base_field.verbose_name), before=_shown(base_field, before),
                              after=_shown(base_field, after)))
    object_id = str(getattr(item, base._meta.pk.attname))
    exists = base._default_manager.filter(pk=object_id).exists()
    reason = item.history_change_reason or ""
    job = job_id(reason)
    admin_name = f"admin:{base._meta.app_label}_{base._meta.model_name}"
    return TrailEntry(
        kind="history", when=item.history_date, action=_HISTORY_ACTION.get(item.history_type, item.history_type),
        object_type=str(base._meta.verbose_name), object_id=object_id,
        actor=str(item.history_user) if item.history_user_id else operator(reason),
        source=history_source(reason), reason=reason, changes=changes,
        object_link=admin_link(f"{admin_name}_change", object_id) if exists else "",
        history_link=admin_link(f"{admin_name}_history", object_id),
        job=Job.objects.filter(pk=job).first() if job else None,
        job_link=admin_link("admin:carbon_job_change", job) if job else "",
    )


def _event_entry(user, pk: int) -> TrailEntry | None:
    qs = scoped_events(user)
    event = qs.filter(pk=pk).select_related("unit").first() if qs is not None else None
    if event is None:
        return None
    details = [(_("IP address"), event.ip_address or "—"), (_("user agent"), event.user_agent or "—"),
               (_("unit"), str(event.unit) if event.unit_id and event.unit else "—")]
    payload = event.details if isinstance(event.details, dict) else {"details": event.details}
    details += [(key, str(value)) for key, value in payload.items()]
    job = event_job(event.object_type, event.object_id, event.details)
    return TrailEntry(
        kind="event", when=event.occurred_at, action=event.get_action_display(), object_type=event.object_type,
        object_id=event.object_id, actor=event.actor_label, source=event.get_source_display(), reason="",
        details=details, object_link=object_page(event.object_type, event.object_id),
        job=Job.objects.filter(pk=job).first() if job else None,
        job_link=admin_link("admin:carbon_job_change", job) if job else "",
    )


def trail_entry(user, table: str, pk: int) -> TrailEntry | None:
    """The row, if `user` may audit it."""
    try:
        return _event_entry(user, pk) if table == EVENT_TABLE else _history_entry(user, table, pk)
    except FieldDoesNotExist:
        return None
