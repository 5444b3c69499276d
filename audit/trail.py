"""The auditor's trail: every history row of every history table and every audit event, newest first.

One page is ONE query (its SQL in `audit.trail_sql`): per source table an indexed `ORDER BY history_date DESC,
history_id DESC LIMIT n` with the filters and the auditor's AUDIT scope, all of them under `UNION ALL` with an
outer ORDER BY and LIMIT; then two small lookups name the people and the units of the page. The row page
(`audit.trail_detail`) reads through the ORM querysets below (`scoped_history`, `scoped_events`), which apply
the same scope; a test compares both. Pagination is keyset on
(when, table, id) — never OFFSET. The export walks the same pages (`iter_trail`).

Scoping (`classify`): a history model whose object belongs to a unit is read through its unit path
(entries: `module_report__report__unit`; module reports: `report__unit`; reports: `unit`; units: themselves);
users' history is read by global auditors only; everything else (factors, locations, rates, rooms,
years and settings) is global reference data, visible to every auditor.

A history row's source is read from the suffix its origin left on the change reason (`audit.sources`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from audit.models import AuditAction, AuditEvent
from audit.sources import SOURCE_PATTERNS, history_source, job_id, operator
from units.models import PathTokens, Unit
from units.scoping import Action, unit_scope

__all__ = ["CUT_AT", "EVENT_TABLE", "GLOBAL", "HISTORY_ACTIONS", "USERS", "Filters", "admin_link", "classify",
           "decode_cursor", "encode_cursor", "event_job", "history_models", "iter_trail", "label_field",
           "model_for_table", "object_page", "scoped_events", "scoped_history", "trail_rows"]

GLOBAL = "global"
USERS = "users"
EVENT_TABLE = AuditEvent._meta.db_table
HISTORY_ACTIONS = {"created": "+", "changed": "~", "deleted": "-"}
_HISTORY_TYPE_LABEL = {value: key for key, value in HISTORY_ACTIONS.items()}
CUT_AT = 300  # characters of a reason or of details shown in the list; the row's page shows them whole
# The field that names an object in the list, cheaply (no join): the first one a model has.
LABEL_FIELDS = ("institutional_id", "name", "code", "label", "title", "iata_code", "kind", "category",
                "module", "description")


@cache
def history_models() -> tuple:
    """Every simple-history model of the project."""
    # m2m history tables (e.g. a user's permissions) have no date of their own: they hang off their
    # parent's history row, which the trail shows.
    return tuple(sorted((model for model in apps.get_models()
                         if hasattr(model, "instance_type") and model.__name__.startswith("Historical")
                         and any(f.name == "history_date" for f in model._meta.concrete_fields)),
                        key=lambda model: model._meta.db_table))


def model_for_table(table: str):
    """The history model stored in `table`, or None."""
    return _tables().get(table)


@cache
def classify(history_model) -> str:
    """The unit path of a history model's object (`""` for Unit itself), or GLOBAL, or USERS."""
    base = history_model.instance_type
    User = get_user_model()

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
    if report is not None and _has_unit(report):
        return "report__unit"
    if names.get("module_report") is not None:
        return "module_report__report__unit"
    if base._meta.app_label in {"factors", "carbon"}:  # reference data, years and settings, recalculation
        return GLOBAL
    raise LookupError(f"history model {history_model._meta.label} is not classified for the audit trail")


def _has_unit(model) -> bool:
    return any(f.name == "unit" and f.related_model is Unit for f in model._meta.concrete_fields)


def _unit_field(path: str) -> str | None:
    """The lookup from a history row to its unit's id, or None for global and users' rows."""
    if path in (GLOBAL, USERS):
        return None
    return "id" if path == "" else f"{path}_id"


@dataclass
class Filters:
    object_type: str = ""  # a model label, e.g. "factors.planefactor" (history or event object type)
    unit: str = ""  # a unit's cf (institutional_id) or code: the unit and its subtree
    user: str = ""  # an account's id or login
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    action: str = ""
    source: str = ""
    text: str = ""
    _unit_ids: list | None = field(default=None, repr=False)
    _user_id: int | None = field(default=None, repr=False)

    @classmethod
    def from_query(cls, data) -> Filters:
        def text(name) -> str:
            return (data.get(name) or "").replace("\x00", "").strip()  # no column can hold a NUL: never a match

        def date(name, end=False):
            try:
                day = dt.date.fromisoformat(text(name))
            except ValueError:
                return None
            return dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), tzinfo=dt.UTC)

        return cls(object_type=text("object_type").lower(), unit=text("unit"), user=text("user"),
                   date_from=date("date_from"), date_to=date("date_to", end=True), action=text("action"),
                   source=text("source"), text=text("text"))

    def as_query(self) -> dict:
        out = {"object_type": self.object_type, "unit": self.unit, "user": self.user,
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

    def user_id(self) -> int | None:
        """The filtered account's id (0: no such account, so no row), None when no user is asked for."""
        if self.user in ("", None):
            return None
        if self._user_id is None:
            User = get_user_model()
            login = str(self.user)
            match = User.objects.filter(Q(**{User.USERNAME_FIELD: login})
                                        | Q(pk=int(login) if login.isdigit() else None)).first()
            self._user_id = match.pk if match else 0
        return self._user_id


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


def label_field(base) -> str | None:
    names = {f.name: f for f in base._meta.concrete_fields}
    return next((name for name in LABEL_FIELDS if name in names and not names[name].is_relation), None)


def scoped_history(model, user):
    """The history rows of `model` that `user` may audit (the row page); None when none can be.

    The list's SQL (`audit.trail_sql`) applies the same rule; `test_a_row_opens_for_exactly_the_auditors_who_
    see_it_in_the_list` holds the two together."""
    scope = unit_scope(user, Action.AUDIT)
    path = classify(model)
    if scope.is_empty or (path == USERS and not scope.is_global):
        return None
    qs = model.objects.all()
    unit_field = _unit_field(path)
    if unit_field is not None and not scope.is_global:
        qs = qs.filter(**{f"{unit_field}__in": scope.units().values("pk")})
    return qs


def scoped_events(user):
    """The audit events `user` may audit (the row page); None when none can be."""
    scope = unit_scope(user, Action.AUDIT)
    if scope.is_empty:
        return None
    qs = AuditEvent.objects.all()
    return qs if scope.is_global else qs.filter(unit__in=scope.units().values("pk"))


def admin_link(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _details_text(details) -> str:
    if isinstance(details, dict):
        return ", ".join(f"{key}: {value}" for key, value in details.items())
    return "" if details is None else str(details)


def object_page(model_label: str, object_id: str) -> str:
    """The admin page of an event's object ("carbon.job", "42"), when it has one."""
    if "." not in (model_label or "") or not object_id:
        return ""
    app_label, model_name = model_label.split(".", 1)
    return admin_link(f"admin:{app_label}_{model_name}_change", object_id)


def event_job(object_type: str, object_id: str, details) -> int | None:
    """The job an event is about: its object, or the `job` it names in its details."""
    if object_type == "carbon.job" and str(object_id).isdigit():
        return int(object_id)
    job = details.get("job") if isinstance(details, dict) else None
    return job if isinstance(job, int) else None


@cache
def _tables() -> dict:
    return {model._meta.db_table: model for model in history_models()}


def _rows(raw: list[tuple]) -> list[dict]:
    """Page tuples → rows the page and the exports show, with two lookups for the page's people and units."""
    User = get_user_model()
    people = {user.pk: str(user) for user in User.objects.filter(pk__in={r[4] for r in raw if r[4] and not r[10]})}
    units = dict(Unit.objects.filter(pk__in={r[7] for r in raw if r[7]}).values_list("pk", "institutional_id"))
    tables = _tables()
    rows = []
    for when, table, pk, kind, user_id, reason, object_id, unit_id, label, source, actor in raw:
        model = tables.get(table)
        if model is None:  # an audit event
            try:
                details = json.loads(reason) if reason else {}
            except ValueError:
                details = reason
            rows.append({
                "when": when, "table": table, "id": pk, "action": kind, "object_type": label,
                "object_model": label, "object_id": object_id or "", "label": "",
                "actor": actor, "actor_id": user_id, "reason": _details_text(details),
                "source": source, "unit": units.get(unit_id, ""), "job": event_job(label, object_id, details),
                "link": object_page(label, object_id),
            })
            continue
        base = model.instance_type
        rows.append({
            "when": when, "table": table, "id": pk, "action": _HISTORY_TYPE_LABEL.get(kind, kind),
            "object_type": str(base._meta.verbose_name), "object_model": base._meta.label_lower,
            "object_id": object_id or "", "label": label or "", "actor": people.get(user_id) or operator(reason),
            "actor_id": user_id, "reason": reason or "", "source": history_source(reason),
            "unit": units.get(unit_id, ""), "job": job_id(reason),
            "link": admin_link(f"admin:{base._meta.app_label}_{base._meta.model_name}_history", object_id),
        })
    for row in rows:
        row["page"] = admin_link("audit-trail-row", row["table"], row["id"])
        row["job_link"] = admin_link("admin:carbon_job_change", row["job"]) if row["job"] else ""
        row["cut"] = len(row["reason"]) > CUT_AT
    return rows


def _shape_and_params(scope, filters: Filters, after, limit: int) -> tuple[dict, dict]:
    """Which filters are set (the SQL's shape) and their values (its parameters)."""
    source_patterns, params = [], {"limit": limit}
    if filters.source in SOURCE_PATTERNS:
        for index, (source, pattern) in enumerate(SOURCE_PATTERNS.items()):  # earlier patterns win, as in Python
            params[f"source_{index}"] = pattern
            source_patterns.append(source != filters.source)
            if source == filters.source:
                break
    shape = {"scoped": not scope.is_global, "unit": filters.unit_ids() is not None, "user": bool(filters.user),
             "date_from": filters.date_from is not None, "date_to": filters.date_to is not None,
             "action": bool(filters.action), "source": bool(filters.source), "source_patterns": source_patterns,
             "text": bool(filters.text), "object_type": bool(filters.object_type)}
    if after is not None:
        params["k_when"], params["k_id"] = after[0], after[2]
    if shape["scoped"]:
        params["scope_units"] = list(scope.units().values_list("pk", flat=True))
    if shape["unit"]:
        params["unit_ids"] = list(filters.unit_ids())
    if shape["user"]:
        params["user_id"] = filters.user_id()
    params["date_from"], params["date_to"] = filters.date_from, filters.date_to
    if filters.action:
        params["action"], params["history_type"] = filters.action, HISTORY_ACTIONS.get(filters.action)
    params["source"] = filters.source
    params["object_type"] = filters.object_type
    if filters.text:
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["text"] = f"%{escaped}%"
    return shape, params


def _history_tables(scope, filters: Filters, params: dict):
    """The history models a page reads: those the object type, action, source, scope and unit filters leave."""
    if filters.action and filters.action not in HISTORY_ACTIONS:
        return []
    if filters.source and filters.source not in SOURCE_PATTERNS:
        return []
    models = []
    for model in history_models():
        path = classify(model)
        if filters.object_type and filters.object_type != model.instance_type._meta.label_lower:
            continue
        if path == USERS and not scope.is_global:
            continue
        has_unit = path not in (GLOBAL, USERS)
        if filters.unit_ids() is not None and (not has_unit or not params["unit_ids"]):
            continue
        if has_unit and not scope.is_global and not params["scope_units"]:
            continue
        models.append(model)
    return models


def _page(scope, filters: Filters, after, limit: int, newer: bool) -> list[dict]:
    """One page, as one query: see `audit.trail_sql`."""
    from django.db import connection
    from psycopg import Cursor

    from audit.trail_sql import event_part, history_part, page_sql, table_plan

    shape, params = _shape_and_params(scope, filters, after, limit)
    parts = []
    for model in _history_tables(scope, filters, params):
        plan = table_plan(model)
        part_shape = {**shape, "scoped": shape["scoped"] and plan.unit_sql is not None}
        parts.append(history_part(plan, part_shape, after, newer))
    events_visible = (not filters.action or filters.action in AuditAction.values) and not (
        shape["scoped"] and not params.get("scope_units")) and not (shape["unit"] and not params["unit_ids"])
    if events_visible:
        parts.append(event_part(EVENT_TABLE, shape, after, newer))
    if not parts:
        return []
    connection.ensure_connection()
    # Server-side binding (Django's own cursors bind on the client) and prepared: PostgreSQL plans each shape's
    # 44-way UNION once per connection (≈ 13 ms a plan at 1,000,000 rows) instead of once per page.
    with Cursor(connection.connection) as cursor:
        cursor.execute(page_sql(parts, newer), params, prepare=True)
        return _rows(cursor.fetchall())


def iter_trail(user, *, filters: Filters | None = None, after=None, chunk: int = 50, newer: bool = False):
    """Every visible row, newest first, older than `after` (a decoded cursor); unbounded (for exports).

    With `newer`, the rows newer than `after`, oldest first (for the "newer" page link).
    """
    filters = filters or Filters()
    scope = unit_scope(user, Action.AUDIT)
    if scope.is_empty:
        return
    cursor = after
    while True:
        rows = _page(scope, filters, cursor, chunk, newer)
        yield from rows
        if len(rows) < chunk:
            return
        cursor = (rows[-1]["when"], rows[-1]["table"], rows[-1]["id"])


def trail_rows(user, *, filters: Filters | None = None, after=None, before=None, limit: int = 50) -> list[dict]:
    """One page, newest first: at most `limit` rows older than `after` — or, given `before`, the `limit`
    rows just newer than `before`."""
    scope = unit_scope(user, Action.AUDIT)
    if scope.is_empty:
        return []
    filters = filters or Filters()
    if before is not None:
        return _page(scope, filters, before, limit, newer=True)[::-1]
    return _page(scope, filters, after, limit, newer=False)
