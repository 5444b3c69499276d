"""Reads of a lab's entries of one kind, shared by the API and the pages: the rows the caller may read,
filtered, searched and ordered the same way on both."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet

from carbon.models import CarbonReport, SubmoduleSetting
from lab.access import LabAccess, lab_spec
from modules.base import EntrySource
from modules.registry import EntryKindSpec

__all__ = ["filtered_rows", "lab_rows", "orderable_columns", "text_columns", "thresholds"]


def lab_rows(spec: EntryKindSpec, access: LabAccess, report: CarbonReport) -> QuerySet:
    """The rows of this kind the caller may read in the unit's year (404 for a kind they may not see)."""
    lab_spec(access, spec.name)
    # By the module report's id, looked up first: a join to the report lets the planner scan the whole table.
    module_report = report.modules.filter(module=spec.module.value).values_list("pk", flat=True).first()
    return (spec.model.objects.filter(module_report_id=module_report).filter(access.rows_q(spec))
            .select_related("created_by"))


def text_columns(spec: EntryKindSpec) -> list[str]:
    fields = {f.name: f for f in spec.model._meta.concrete_fields}
    return [c.name for c in spec.columns if c.name in fields and fields[c.name].get_internal_type()
            in ("CharField", "TextField")]


def orderable_columns(spec: EntryKindSpec) -> set[str]:
    fields = {f.name for f in spec.model._meta.concrete_fields if not f.is_relation}
    return {c.name for c in spec.columns if c.name in fields} | {"id", "kg_co2eq", "created_at", "updated_at"}


def filtered_rows(spec: EntryKindSpec, rows: QuerySet, params, prefix: str = "") -> QuerySet:
    """`params` (a QueryDict) with optional `prefix`: `<column>=` exact on text columns, `source=`, `search=`
    over the text columns, `ordering=` (a column, '-' for descending; anything else: by id)."""
    def param(name: str) -> str:
        return (params.get(prefix + name) or "").replace("\x00", "").strip()  # no text column holds a NUL

    for column in text_columns(spec):
        if param(column):
            rows = rows.filter(**{f"{column}__iexact": param(column)})
    if param("source"):
        source = next((s for s in EntrySource if s.name.lower() == param("source").lower()), None)
        rows = rows.filter(source=source) if source is not None else rows.none()
    if search := param("search")[:200]:
        condition = Q()
        for column in text_columns(spec):
            condition |= Q(**{f"{column}__icontains": search})
        rows = rows.filter(condition)
    ordering = param("ordering") or "id"
    if ordering.lstrip("-") not in orderable_columns(spec):
        ordering = "id"
    return rows.order_by(ordering, "id")


def thresholds(spec: EntryKindSpec, year: int) -> dict[int, Decimal]:
    """Entry kind id → its submodule's threshold in kg, for the kinds of `spec` that have one."""
    settings = SubmoduleSetting.objects.filter(year_id=year, threshold__isnull=False,
                                               kind__in=[k.value for k in spec.kinds])
    return dict(settings.values_list("kind", "threshold"))
