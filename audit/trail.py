"""The auditor's trail: every history row of every history table and every audit event, newest first.

`trail_rows(user, filters=..., after=..., limit=...)` reads, per source table, an indexed
`ORDER BY history_date DESC LIMIT n` with the filters and the auditor's AUDIT scope, and merges the
streams in Python (heapq). Pagination is keyset on (when, table, id) — never OFFSET.

Scoping (`classify`): a history model whose object belongs to a unit is read through its unit path
(entries: `module_report__report__unit`; module reports: `report__unit`; reports: `unit`; units: themselves);
users' history is read by global auditors only; everything else (factors, locations, rates, rooms,
years and settings) is global reference data, visible to every auditor.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field
from itertools import islice

from django.apps import apps
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEvent
from units.models import PathTokens, Unit
from units.scoping import Action, unit_scope

__all__ = ["EVENT_TABLE", "GLOBAL", "HISTORY_ACTIONS", "USERS", "Filters", "classify", "decode_cursor",
           "encode_cursor", "history_models", "iter_trail", "trail_rows"]

GLOBAL = "global"
USERS = "users"
EVENT_TABLE = AuditEvent._meta.db_table
HISTORY_ACTIONS = {"created": "+", "changed": "~", "deleted": "-"}
_HISTORY_TYPE_LABEL = {value: key for key, value in HISTORY_ACTIONS.items()}


def history_models() -> list:
    """Every simple-history model of the project."""
    # m2m history tables (e.g. a user's permissions) have no date of their own: they hang off their
    # parent's history row, which the trail shows.
    return sorted((model for model in apps.get_models()
                   if hasattr(model, "instance_type") and model.__name__.startswith("Historical")
                   and any(f.name == "history_date" for f in model._meta.concrete_fields)),
                  key=lambda model: model._meta.db_table)


def classify(history_model) -> str:
    """The unit path of a history model's object (`""` for Unit itself), or GLOBAL, or USERS."""
    base = history_model.instance_type
    from units.models import User

    if base is Unit:
        return ""
    if base is User or (base._meta.auto_created and base._meta.auto_created is User):  # a user's m2m
        return USERS
    names = {f.name: f.related_model for f in base._meta.concrete_fields if f.is_relation}
    if names.get("unit") is Unit:
        return "unit"
    if names.get("content_object") is Unit:  # role grants on a unit
        return "content_object"
    report = names.get("report")
    if report is not None and classify_base(report) == "unit":
        return "report__unit"
    module_report = names.get("module_report")
    if module_report is not None:
        return "module_report__report__unit"
    if base._meta.app_label in {"factors", "carbon"}:  # reference data, years and settings, recalculation
        return GLOBAL
    raise LookupError(f"history model {history_model._meta.label} is not classified for the audit trail")


def classify_base(model) -> str | None:
    names = {f.name: f.related_model for f in model._meta.concrete_fields if f.is_relation}
    return "unit" if names.get("unit") is Unit else None


@dataclass
class Filters:
    object_type: str = ""  # a model label, e.g. "factors.planefactor" (history or event object type)
    unit: str = ""  # a unit's cf (institutional_id) or code: the unit and its subtree
    user: int | None = None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    action: str = ""
    source: str = ""
    text: str = ""
    _unit_ids: list | None = field(default=None, repr=False)

    @classmethod
    def from_query(cls, data) -> Filters:
        def text(name) -> str:
            return (data.get(name) or "").replace("\x00", "").strip()  # no column can hold a NUL: never a match

        def date(name, end=False):
            value = text(name)
            if not value:
                return None
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return None
            moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), tzinfo=dt.UTC)
            return moment

        user = text("user")
        return cls(object_type=text("object_type").lower(), unit=text("unit"),
                   user=int(user) if user.isdigit() else None, date_from=date("date_from"),
                   date_to=date("date_to", end=True), action=text("action"), source=text("source"),
                   text=text("text"))

    def as_query(self) -> dict:
        out = {"object_type": self.object_type, "unit": self.unit, "user": self.user or "",
               "date_from": self.date_from.date().isoformat() if self.date_from else "",
               "date_to": (self.date_to - dt.timedelta(days=1)).date().isoformat() if self.date_to else "",
               "action": self.action, "source": self.source, "text": self.text}
        return {key: value for key, value in out.items() if value not in ("", None)}

    def unit_ids(self):
        if not self.unit:
            return None
        if self._unit_ids is None:
            anchor = Unit.objects.filter(Q(institutional_id=self.unit) | Q(institutional_code=self.unit)).first()
            if anchor is None:
                self._unit_ids = []
            else:
                self._unit_ids = list(Unit.objects.alias(path_tokens=PathTokens()).filter(
                    Q(pk=anchor.pk) | Q(path_tokens__overlap=[anchor.institutional_code])).values_list("pk", flat=True))
        return self._unit_ids


def encode_cursor(row: dict) -> str:
    return f"{row['when'].isoformat()}|{row['table']}|{row['id']}"


def decode_cursor(text: str | None):
    if not text:
        return None
    try:
        when, table, pk = text.split("|")
        return dt.datetime.fromisoformat(when), table, int(pk)
    except ValueError:
        return None


def _keyset_q(date_field: str, id_field: str, table: str, after, newer: bool = False) -> Q:
    """Rows strictly older (newer: strictly newer) than the cursor in the (when, table, id) order."""
    if after is None:
        return Q()
    when, cursor_table, pk = after
    if newer:
        if table < cursor_table:
            return Q(**{f"{date_field}__gt": when})
        if table > cursor_table:
            return Q(**{f"{date_field}__gte": when})
        return Q(**{f"{date_field}__gt": when}) | Q(**{date_field: when, f"{id_field}__gt": pk})
    if table < cursor_table:
        return Q(**{f"{date_field}__lte": when})
    if table > cursor_table:
        return Q(**{f"{date_field}__lt": when})
    return Q(**{f"{date_field}__lt": when}) | Q(**{date_field: when, f"{id_field}__lt": pk})


def _history_queryset(model, scope, filters: Filters, after):
    path = classify(model)
    label = model.instance_type._meta.label_lower
    if filters.object_type and filters.object_type != label:
        return None
    if filters.action and filters.action not in HISTORY_ACTIONS:
        return None
    if filters.source:  # history rows carry no source column; the source filter selects events
        return None
    qs = model.objects.all()
    unit_field = None if path in (GLOBAL, USERS) else ("id" if path == "" else path)
    if path == USERS and not scope.is_global:
        return None
    if unit_field is not None and not scope.is_global:
        qs = qs.filter(**{f"{unit_field}__in": scope.units().values("pk")})
    unit_ids = filters.unit_ids()
    if unit_ids is not None:
        if unit_field is None:
            return None
        qs = qs.filter(**{f"{unit_field}__in": unit_ids})
    qs = _person_and_dates(qs, filters, person="history_user_id", when="history_date")
    if filters.action:
        qs = qs.filter(history_type=HISTORY_ACTIONS[filters.action])
    if filters.text:
        qs = qs.filter(history_change_reason__icontains=filters.text)
    return qs


def _person_and_dates(qs, filters: Filters, *, person: str, when: str):
    """The filters history rows and events share, on their own column names."""
    if filters.user:
        qs = qs.filter(**{person: filters.user})
    if filters.date_from:
        qs = qs.filter(**{f"{when}__gte": filters.date_from})
    if filters.date_to:
        qs = qs.filter(**{f"{when}__lt": filters.date_to})
    return qs


def _event_queryset(scope, filters: Filters, after):
    from audit.models import AuditAction

    if filters.action and filters.action not in AuditAction.values:
        return None
    qs = AuditEvent.objects.all()
    if not scope.is_global:
        qs = qs.filter(unit__in=scope.units().values("pk"))
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    unit_ids = filters.unit_ids()
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    qs = _person_and_dates(qs, filters, person="actor_id", when="occurred_at")
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.text:
        qs = qs.filter(Q(actor_label__icontains=filters.text) | Q(object_id__icontains=filters.text)
                       | Q(object_type__icontains=filters.text))
    return qs


def _link(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _history_stream(model, qs, after, chunk: int, newer: bool = False):
    table = model._meta.db_table
    base = model.instance_type
    verbose = str(base._meta.verbose_name)
    history_url = f"admin:{base._meta.app_label}_{base._meta.model_name}_history"
    path = classify(model)
    unit_attr = None if path in (GLOBAL, USERS) else path
    related = [unit_attr] if unit_attr else []
    cursor = after
    while True:
        page = qs.filter(_keyset_q("history_date", "history_id", table, cursor, newer))
        if related:
            page = page.select_related(*related)
        order = ("history_date", "history_id") if newer else ("-history_date", "-history_id")
        rows = list(page.select_related("history_user").order_by(*order)[:chunk])
        for item in rows:
            unit = item
            if unit_attr:
                for part in unit_attr.split("__"):
                    unit = getattr(unit, part, None) if unit is not None else None
            else:
                unit = None
            if path == "":
                unit_cf = item.institutional_id
            else:
                unit_cf = unit.institutional_id if unit is not None else ""
            object_id = getattr(item, base._meta.pk.attname, "")
            yield {
                "when": item.history_date, "table": table, "id": item.history_id,
                "action": _HISTORY_TYPE_LABEL.get(item.history_type, item.history_type),
                "object_type": verbose, "object_model": base._meta.label_lower, "object_id": str(object_id),
                "actor": str(item.history_user) if item.history_user_id else "",
                "actor_id": item.history_user_id, "reason": item.history_change_reason or "", "source": "",
                "unit": unit_cf, "link": _link(history_url, object_id),
            }
        if len(rows) < chunk:
            return
        last = rows[-1]
        cursor = (last.history_date, table, last.history_id)


def _details_text(details) -> str:
    if isinstance(details, dict):
        return ", ".join(f"{key}: {value}" for key, value in details.items())
    return "" if details is None else str(details)


def _event_stream(qs, after, chunk: int, newer: bool = False):
    cursor = after
    order = ("occurred_at", "id") if newer else ("-occurred_at", "-id")
    while True:
        rows = list(qs.filter(_keyset_q("occurred_at", "id", EVENT_TABLE, cursor, newer))
                    .select_related("unit").order_by(*order)[:chunk])
        for event in rows:
            yield {
                "when": event.occurred_at, "table": EVENT_TABLE, "id": event.pk, "action": event.action,
                "object_type": event.object_type, "object_model": event.object_type, "object_id": event.object_id,
                "actor": event.actor_label, "actor_id": event.actor_id,
                "reason": _details_text(event.details),
                "source": event.source, "unit": event.unit.institutional_id if event.unit_id and event.unit else "",
                "link": _link("admin:audit_auditevent_change", event.pk),
            }
        if len(rows) < chunk:
            return
        last = rows[-1]
        cursor = (last.occurred_at, EVENT_TABLE, last.pk)


def _key(row: dict):
    # heapq.merge with reverse=True wants each stream sorted descending by this key.
    return (row["when"], row["table"], row["id"])


def iter_trail(user, *, filters: Filters | None = None, after=None, chunk: int = 50, newer: bool = False):
    """Every visible row, newest first, older than `after` (a decoded cursor); unbounded (for exports).

    With `newer`, the rows newer than `after`, oldest first (for the "newer" page link).
    """
    filters = filters or Filters()
    scope = unit_scope(user, Action.AUDIT)
    if scope.is_empty:
        return iter(())
    streams = []
    for model in history_models():
        qs = _history_queryset(model, scope, filters, after)
        if qs is not None:
            streams.append(_history_stream(model, qs, after, chunk, newer))
    events = _event_queryset(scope, filters, after)
    if events is not None:
        streams.append(_event_stream(events, after, chunk, newer))
    return heapq.merge(*streams, key=_key, reverse=not newer)


def trail_rows(user, *, filters: Filters | None = None, after=None, before=None, limit: int = 50) -> list[dict]:
    """One page, newest first: at most `limit` rows older than `after` — or, given `before`, the `limit`
    rows just newer than `before`."""
    if before is not None:
        rows = list(islice(iter_trail(user, filters=filters, after=before, chunk=limit, newer=True), limit))
        return rows[::-1]
    return list(islice(iter_trail(user, filters=filters, after=after, chunk=limit), limit))
