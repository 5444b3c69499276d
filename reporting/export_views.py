"""`/admin/reporting/exports/`: the back-office exports with their filters, and one download URL per export and
format (mounted by config/urls.py before the admin's own URLs).

For back-office users only (metier and admin: a non-empty REPORT scope; 403 otherwise). Every download is
clamped to the user's scope (`ReportFilters.from_query(…, request.user)`), streamed, and recorded as an
`exported` audit event (who, which export, format, filters; IP and user agent from the request). A bad filter
answers 400 with the reason, never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from carbon.models import ModuleStatus, YearConfiguration
from carbon.taxonomy import Module
from infra.events import emit
from reporting.exports import EXPORTS, FilterError, ReportFilters, build_export
from reporting.exports.filters import COMPLETIONS
from units.scoping import Action, unit_scope

__all__ = ["COMPLETION_LABELS", "export_download", "exports_page", "filters_query", "module_filter_rows"]

COMPLETION_LABELS = {"not_started": ModuleStatus.NOT_STARTED.label, "in_progress": ModuleStatus.IN_PROGRESS.label,
                     "validated": ModuleStatus.VALIDATED.label}


def _check(request) -> None:
    if unit_scope(request.user, Action.REPORT).is_empty:
        raise PermissionDenied


def filters_query(filters: ReportFilters) -> str:
    """The filters as a query string (for the download links)."""
    pairs = [("year", y) for y in filters.years] + [("unit", cf) for cf in filters.unit_cfs]
    pairs += [("completion", c) for c in filters.completion]
    pairs += [("modules", f"{Module(m).name}:{s}") for m, s in filters.module_statuses]
    if filters.search:
        pairs.append(("search", filters.search))
    return urlencode(pairs)


def module_filter_rows(filters: ReportFilters | None) -> list[dict]:
    """One row per module, one checkbox per status (value `module:status`), the chosen ones checked."""
    chosen = set(filters.module_statuses) if filters else set()
    return [{"label": _(m.label), "cells": [{"value": f"{m.name}:{s.value}", "checked": (int(m), int(s)) in chosen,
                                             "label": f"{_(m.label)}: {s.label}"} for s in ModuleStatus]}
            for m in Module]


def exports_page(admin_site):
    @require_GET
    def view(request):
        _check(request)
        error, filters = None, None
        try:
            filters = ReportFilters.from_query(request.GET, request.user, default_latest_year=True)
        except FilterError as failure:
            error = failure
        query = filters_query(filters) if filters else ""
        exports = [{"name": e.name, "label": e.label, "description": e.description,
                    "links": [(fmt, f"{reverse('reporting-export', args=[e.name, fmt])}?{query}")
                              for fmt in e.formats]} for e in EXPORTS.values()]
        context = {
            **admin_site.each_context(request),
            "title": _("Exports"),
            "years": sorted(YearConfiguration.objects.values_list("year", flat=True), reverse=True),
            "filters": filters,
            "unit_text": ", ".join(filters.unit_cfs) if filters else request.GET.get("unit", "")[:200],
            "completions": [(c, COMPLETION_LABELS[c]) for c in COMPLETIONS],
            "statuses": [s.label for s in ModuleStatus],
            "module_rows": module_filter_rows(filters),
            "error": error,
            "exports": exports if filters else [],
            "scope_note": _("Every export covers only the units you may report on."),
        }
        return TemplateResponse(request, "admin/reporting/exports.html", context, status=400 if error else 200)

    return view


@require_GET
def export_download(request, name: str, fmt: str):
    _check(request)
    try:
        filters = ReportFilters.from_query(request.GET, request.user)
        export = build_export(name, fmt, filters)
    except FilterError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    emit("exported", source="admin", actor=request.user, request=request, report=name, format=fmt,
         filters=filters.describe())
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
