"""The auditor's trail in the admin: `/admin/audit/trail/` and its streamed CSV / JSON export.

Read-only: GET only (any other method answers 405), for users whose AUDIT scope is not empty (403 otherwise).
The export is itself recorded as an audit event.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from audit.models import AuditAction, AuditSource
from audit.services import record
from audit.trail import (
    CUT_AT,
    Filters,
    decode_cursor,
    encode_cursor,
    history_models,
    iter_trail,
    trail_rows,
)
from audit.trail_detail import trail_entry
from infra.csvio import csv_chunks
from units.scoping import Action, unit_scope

__all__ = ["trail_export", "trail_row_view", "trail_view"]

PAGE_SIZE = 50
COLUMNS = ("when", "action", "object_type", "object_id", "label", "actor", "reason", "source", "unit", "job", "link",
           "page")


ACTION_LABELS = {"created": gettext_lazy("created"), "changed": gettext_lazy("changed"),
                 "deleted": gettext_lazy("deleted"), **dict(AuditAction.choices)}
SOURCE_LABELS = dict(AuditSource.choices)


def _check(request):
    if unit_scope(request.user, Action.AUDIT).is_empty:
        raise PermissionDenied


def trail_view(admin_site):
    @require_GET
    def view(request):
        _check(request)
        filters = Filters.from_query(request.GET)
        after = decode_cursor(request.GET.get("after"))
        before = None if after else decode_cursor(request.GET.get("before"))
        if before is not None:
            rows = trail_rows(request.user, filters=filters, before=before, limit=PAGE_SIZE)
            has_more = True  # the page we came from
        else:
            rows = trail_rows(request.user, filters=filters, after=after, limit=PAGE_SIZE + 1)
            has_more = len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE]
        for row in rows:
            row["action_label"] = ACTION_LABELS.get(row["action"], row["action"])
            row["source_label"] = SOURCE_LABELS.get(row["source"], row["source"])
        query = filters.as_query()
        older = newer = None
        if has_more and rows:
            older = {**query, "after": encode_cursor(rows[-1])}
        if rows and (after or before) and trail_rows(request.user, filters=filters, before=decode_cursor(
                encode_cursor(rows[0])), limit=1):
            newer = {**query, "before": encode_cursor(rows[0])}
        from urllib.parse import urlencode

        context = {
            **admin_site.each_context(request),
            "title": _("Audit trail"),
            "cut_at": CUT_AT,
            "rows": rows,
            "filters": query,
            "newest_url": "?" + urlencode(query),
            "older_url": "?" + urlencode(older) if older else "",
            "newer_url": "?" + urlencode(newer) if newer else "",
            "export_query": urlencode(query),
            "actions": list(ACTION_LABELS.items()),
            "sources": [(value, label) for value, label in AuditSource.choices],
            "object_types": sorted({m.instance_type._meta.label_lower for m in history_models()}),
            "is_paged": after is not None or before is not None,
        }
        return TemplateResponse(request, "admin/audit/trail.html", context)

    return view


def trail_row_view(admin_site):
    @require_GET
    def view(request, table: str, pk: int):
        _check(request)
        entry = trail_entry(request.user, table, pk)
        if entry is None:
            raise Http404(_("No such row in your trail."))
        context = {**admin_site.each_context(request), "title": _("Trail row"), "entry": entry,
                   "back": request.GET.get("back", "") if url_has_allowed_host_and_scheme(
                       request.GET.get("back", ""), allowed_hosts={request.get_host()}) else ""}
        return TemplateResponse(request, "admin/audit/trail_row.html", context)

    return view


def trail_export(fmt: str):
    @require_GET
    def view(request):
        _check(request)
        filters = Filters.from_query(request.GET)
        record(AuditAction.EXPORTED, source=AuditSource.ADMIN, request=request, export="audit_trail",
               format=fmt, filters=filters.as_query())
        rows = iter_trail(request.user, filters=filters, chunk=2000)  # a page per 2,000 rows: one query each
        if fmt == "csv":
            cells = ({**row, "when": row["when"].isoformat()} for row in rows)
            response = StreamingHttpResponse(csv_chunks(cells, COLUMNS), content_type="text/csv; charset=utf-8")
        else:
            def chunks():
                yield "["
                first = True
                for row in rows:
                    item = {col: (row[col].isoformat() if col == "when" else row[col]) for col in COLUMNS}
                    yield ("" if first else ",\n") + json.dumps(item, ensure_ascii=False)
                    first = False
                yield "]\n"

            response = StreamingHttpResponse(chunks(), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="audit-trail.{fmt}"'
        return response

    return view



