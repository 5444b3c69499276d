"""A module's page (a table per entry kind), the entry form, deleting a row, validating the module.

Forms are the API's: the entry serializer (its cells, the import's row rules) validates them and the
services write, so a page, a script and a CSV file follow one set of rules.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from lab.api.serializers import entry_serializer
from lab.entries import filtered_rows, lab_rows, orderable_columns, thresholds
from lab.labels import column_label, label, module_label
from lab.pages import LabPage, lab_page, module_of, page_spec
from modules.base import EntrySource
from modules.registry import EntryKindSpec, kinds_of_module
from modules.rows import OVERRIDE_COLUMN, EntryInvalid, entry_cells
from modules.services import entry_create, entry_delete, entry_update, module_validate

PAGE_SIZE = 25
# Columns whose values come from a list the API serves (`static/js/autocomplete.js` fills a datalist).
AUTOCOMPLETE = {"origin_iata": "plane", "destination_iata": "plane", "origin_name": "train",
                "destination_name": "train", "user_institutional_id": "travellers"}


def _module_url(page: LabPage, module) -> str:
    return reverse("lab:module", args=[page.access.unit.institutional_id, page.year, module.name])


# --- the module page --------------------------------------------------------------------------------------
def _table(request, page: LabPage, spec: EntryKindSpec) -> dict:
    prefix = f"{spec.name}-"
    rows = filtered_rows(spec, lab_rows(spec, page.access, page.report), request.GET, prefix=prefix)
    paged = Paginator(rows, PAGE_SIZE).get_page(request.GET.get(prefix + "page"))
    limits = thresholds(spec, page.year)
    ordering = request.GET.get(prefix + "ordering", "")
    shown = [c.name for c in spec.columns if c.name != "note"]
    columns = []
    for name in [*shown, "kg_co2eq"]:
        sortable = name in orderable_columns(spec)
        columns.append({"name": name, "label": column_label(name), "sortable": sortable,
                        "sort": "-" + name if ordering == name else name,
                        "sorted": "ascending" if ordering == name else "descending" if ordering == "-" + name
                        else None})
    items = []
    for entry in paged:
        limit = limits.get(spec.entry_kind(entry).value)
        items.append({
            "entry": entry, "cells": [getattr(entry, name, "") for name in shown],
            "above": limit is not None and entry.kg_co2eq is not None and entry.kg_co2eq > limit,
            "editable": page.is_open and page.access.may_change(spec, entry),
            "origin": label(EntrySource(entry.source).label),
        })
    total = rows.order_by().aggregate(total=Sum("kg_co2eq"))["total"]
    return {"spec": spec, "label": label(spec.label or spec.name), "prefix": prefix, "page": paged,
            "columns": columns, "items": items, "total": total, "search": request.GET.get(prefix + "search", ""),
            "can_add": page.is_open and page.access.may_write_kind(spec),
            "can_upload": page.is_open and page.access.can_validate}


@login_required
def module_page(request, cf: str, year: int, module: str):
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    module_report = page.report.modules.select_related("reopened_by").filter(module=module.value).first()
    if module_report is None:
        raise Http404
    tables = [_table(request, page, spec) for spec in kinds_of_module(module) if page.access.kind_visible(spec)]
    return render(request, "lab/module.html", page.context(
        module.name, module=module, module_name=module_label(module), module_report=module_report,
        tables=tables, can_validate=page.is_open and page.access.can_validate))


# --- the entry form ---------------------------------------------------------------------------------------
def _fields(spec: EntryKindSpec, values: dict, errors: dict) -> list[dict]:
    model_fields = {f.name: f for f in spec.model._meta.concrete_fields}
    names = [c.name for c in spec.columns] + ([OVERRIDE_COLUMN] if spec.override_leaf else [])
    required = {c.name for c in spec.columns if c.required}
    fields = []
    for name in names:
        field = model_fields.get(name)
        widget, choices = "text", None
        if field is not None and field.choices:
            widget, choices = "select", [(str(value), str(text)) for value, text in field.choices]
        elif isinstance(field, models.DateField):
            widget = "date"
        elif isinstance(field, models.TextField):
            widget = "textarea"
        numeric = isinstance(field, (models.DecimalField, models.IntegerField, models.FloatField)) or \
            name == OVERRIDE_COLUMN
        fields.append({
            "name": name, "id": f"field-{name}", "label": column_label(name), "widget": widget, "choices": choices,
            "value": values.get(name, ""), "required": name in required, "errors": errors.get(name, []),
            "inputmode": "decimal" if numeric else None,
            "autocomplete": AUTOCOMPLETE.get(name) if spec.module.name == "professional_travel" else None,
            "hint": _("Optional: a total to keep as it is, instead of the computed one.")
            if name == OVERRIDE_COLUMN else "",
        })
    return fields


@login_required
def entry_form(request, cf: str, year: int, module: str, kind: str, pk: int | None = None):
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    spec = page_spec(page, module, kind)
    entry = None
    if pk is not None:
        entry = lab_rows(spec, page.access, page.report).filter(pk=pk).first()
        if entry is None:
            raise Http404
    if not page.is_open or not page.access.may_write_kind(spec) or (
            entry is not None and not page.access.may_change(spec, entry)):
        raise PermissionDenied
    values = entry_cells(spec, entry) if entry is not None else {}
    errors: dict = {}
    if request.method == "POST":
        names = [c.name for c in spec.columns] + ([OVERRIDE_COLUMN] if spec.override_leaf else [])
        values = {name: request.POST.get(name, "") for name in names}
        serializer = entry_serializer(spec.name)(entry, data=values, partial=entry is not None,
                                                 context={"access": page.access, "year": page.year})
        if serializer.is_valid():
            try:
                if entry is None:
                    written = entry_create(spec, unit=page.access.unit, year=page.year, cells=values,
                                           actor=request.user)
                else:
                    written = entry_update(spec, entry, cells=values, actor=request.user)
            except EntryInvalid as exc:
                errors = {e.column or "non_field_errors": [e.reason] for e in exc.errors}
            else:
                messages.success(request, _("Saved."))
                for warning in written.warnings:
                    messages.warning(request, f"{column_label(warning.column or '')}: {warning.reason}"
                                     if warning.column else warning.reason)
                if written.reopened:
                    messages.warning(request, _("The module went back to in progress: validate it again when "
                                                "it is complete."))
                return redirect(_module_url(page, module))
        else:
            errors = {name: [str(m) for m in messages_] for name, messages_ in serializer.errors.items()}
    fields = _fields(spec, values, errors)
    return render(request, "lab/entry_form.html", page.context(
        module.name, module=module, module_name=module_label(module), spec=spec, kind_label=label(spec.label),
        entry=entry, fields=fields, non_field_errors=errors.get("non_field_errors", []),
        first_error=next((f["id"] for f in fields if f["errors"]), None), back=_module_url(page, module)),
        status=400 if errors else 200)


@login_required
def entry_delete_page(request, cf: str, year: int, module: str, kind: str, pk: int):
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    spec = page_spec(page, module, kind)
    entry = lab_rows(spec, page.access, page.report).filter(pk=pk).first()
    if entry is None:
        raise Http404
    if not page.is_open or not page.access.may_change(spec, entry):
        raise PermissionDenied
    if request.method == "POST":
        written = entry_delete(spec, entry, actor=request.user)
        messages.success(request, _("Deleted."))
        if written.reopened:
            messages.warning(request, _("The module went back to in progress: validate it again when it is "
                                        "complete."))
        return redirect(_module_url(page, module))
    return render(request, "lab/entry_delete.html", page.context(
        module.name, module=module, module_name=module_label(module), spec=spec, kind_label=label(spec.label),
        entry=entry, back=_module_url(page, module)))


# --- validation -------------------------------------------------------------------------------------------
@login_required
def validation(request, cf: str, year: int, module: str):
    """GET: what validating means, and the button; POST: validate (or `undo`: back in progress)."""
    page = lab_page(request, cf, year)
    module = module_of(page, module)
    if not page.is_open or not page.access.can_validate:
        raise PermissionDenied
    module_report = page.report.modules.filter(module=module.value).first()
    if module_report is None:
        raise Http404
    if request.method == "POST":
        undo = "undo" in request.POST
        try:
            module_validate(unit_cf=cf, year=page.year, module=module, actor=request.user, undo=undo,
                            source="lab", request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Back in progress.") if undo else _("Validated: it counts in the results."))
        return redirect(_module_url(page, module))
    return render(request, "lab/validation.html", page.context(
        module.name, module=module, module_name=module_label(module), module_report=module_report,
        back=_module_url(page, module)))
