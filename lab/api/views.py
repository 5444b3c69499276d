"""The lab API: a unit's years, its report, module validation, entries of every kind, uploads and results.

Views are thin: `access` says who may do what (through unit_scope), `modules.services` writes, the
selectors read. Routes are generated per entry kind from the registry (urls.py), so the schema documents
each kind's own fields.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from carbon.models import CarbonReport
from carbon.taxonomy import Module
from infra.csvio import NUL_NOT_ALLOWED
from lab.access import LabAccess, lab_access, lab_report, lab_spec
from lab.api import report as report_payload
from lab.api.serializers import entry_serializer, invalid_as_field_errors
from lab.entries import filtered_rows, lab_rows, thresholds
from lab.uploads import UPLOAD_MAX_BYTES, upload_check, upload_queue
from modules.base import EntrySource
from modules.registry import EntryKindSpec
from modules.rows import EntryInvalid
from modules.selectors import headcount_people
from modules.services import entry_create, entry_delete, entry_update, module_validate
from reporting.results import unit_results
from reporting.serializers import UnitResultsSerializer


class LabView(APIView):
    """Resolves `cf` (and `year`) of the URL into the caller's access, 404 outside their scope."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL text cannot hold a NUL character: a lookup with one would be a database error (a 500).
        if "\x00" in kwargs.get("cf", ""):
            raise Http404
        if refused := sorted({name for name, values in request.query_params.lists()
                              if any("\x00" in value for value in values)}):
            raise serializers.ValidationError({name: [NUL_NOT_ALLOWED] for name in refused})

    def lab(self) -> LabAccess:
        if not hasattr(self, "_access"):
            self._access = lab_access(self.request.user, self.kwargs["cf"])
        return self._access

    def report(self) -> CarbonReport:
        if not hasattr(self, "_report"):  # asked by the rows, the write checks and the answer: one query
            self._report = lab_report(self.lab(), self.kwargs["year"])
        return self._report

    def require(self, allowed: bool, reason: str) -> None:
        if not allowed:
            raise PermissionDenied(reason)


# --- years and report -------------------------------------------------------------------------------------
class UnitYearsView(LabView):
    """The unit's campaign years (opened ones for lab members), with their completion."""

    @extend_schema(responses=report_payload.YearSerializer(many=True))
    def get(self, request, cf: str):
        access = self.lab()
        reports = CarbonReport.objects.filter(unit=access.unit).select_related("year").prefetch_related("modules")
        if access.member:
            reports = reports.filter(year__is_started=True)
        return Response(report_payload.YearSerializer(reports.order_by("-year"), many=True).data)


class ReportView(LabView):
    """The report of a unit's year: each module's status, completion and totals, and why a validated module
    went back to in progress."""

    @extend_schema(responses=report_payload.ReportSerializer)
    def get(self, request, cf: str, year: int):
        return Response(report_payload.report_data(self.lab(), self.report()))


class ModuleValidationView(LabView):
    """POST validates a module (the principal); DELETE puts it back in progress."""

    def _module(self) -> Module:
        try:
            return Module.from_name(self.kwargs["module"])
        except ValueError:
            raise Http404 from None

    def _change(self, undo: bool) -> Response:
        access, report = self.lab(), self.report()
        self.require(access.can_validate, _("only the unit's principal validates its modules"))
        self.require(report.year.is_started, _("the year is not open"))
        module = self._module()
        try:
            module_validate(unit_cf=access.unit.institutional_id, year=report.year_id, module=module,
                            actor=self.request.user, undo=undo, source="api", request=self.request)
        except DjangoValidationError as exc:
            return Response({"code": "invalid", "detail": " ".join(exc.messages)}, status=400)
        return Response(report_payload.report_data(access, self.report()))

    @extend_schema(request=None, responses=report_payload.ReportSerializer)
    def post(self, request, cf: str, year: int, module: str):
        return self._change(undo=False)

    @extend_schema(request=None, responses={200: report_payload.ReportSerializer})  # a DELETE with a body
    def delete(self, request, cf: str, year: int, module: str):
        return self._change(undo=True)


class ResultsView(LabView):
    """The results of a unit's year, over validated modules only (decision 9)."""

    @extend_schema(responses=UnitResultsSerializer)
    def get(self, request, cf: str, year: int):
        report = self.report()
        return Response(UnitResultsSerializer(unit_results(self.lab().unit, report.year_id)).data)


class TravellerSerializer(serializers.Serializer):
    name = serializers.CharField()
    user_institutional_id = serializers.CharField()


class TravellersView(LabView):
    """Headcount members of the unit's year, to pick a trip's traveller (`?q=` name or id). A standard user
    gets only themselves: the lab's people list is the principal's."""

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=TravellerSerializer(many=True))
    def get(self, request, cf: str, year: int):
        access, report = self.lab(), self.report()
        only = request.user.institutional_id if access.own_only else None
        people = headcount_people(access.unit, report.year_id, q=request.query_params.get("q", "")[:100],
                                  only=only)
        return Response(TravellerSerializer(people, many=True).data)


# --- entries ----------------------------------------------------------------------------------------------
class EntryPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class EntryViewSet(LabView, GenericViewSet):
    """Entries of one kind in a unit's year (the kind is fixed per route: `spec`).

    List: `?ordering=<column>` (`-` for descending), `?search=` over the text columns, `?<column>=` exact
    filters on the text columns, `?source=`, `?page=` and `?page_size=` (max 200).
    A write answers with the row, its `warnings`, and `module_reopened` when it put a validated module back
    in progress.
    """

    spec: EntryKindSpec = None
    pagination_class = EntryPagination
    filter_backends = []  # filtering is the kind's own (below): one code path for every kind

    def get_serializer_class(self):
        return entry_serializer(self.spec.name)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "cf" in self.kwargs:  # not while the schema is generated
            context.update(access=self.lab(), year=self.kwargs["year"], thresholds=self._thresholds())
        return context

    def _thresholds(self) -> dict[int, Decimal]:
        if not hasattr(self, "_threshold_cache"):
            self._threshold_cache = thresholds(self.spec, self.kwargs["year"])
        return self._threshold_cache

    def _rows(self):
        return lab_rows(self.spec, self.lab(), self.report())

    def get_queryset(self):
        return filtered_rows(self.spec, self._rows(), self.request.query_params)

    def _writable(self):
        access, report = self.lab(), self.report()
        lab_spec(access, self.spec.name)
        self.require(access.may_write_kind(self.spec), _("you may not enter rows of this kind here"))
        self.require(report.year.is_started, _("the year is not open"))
        return access, report

    def _written(self, written, code=status.HTTP_200_OK) -> Response:
        data = dict(self.get_serializer(written.entry).data) if written.entry is not None else {}
        data.update(warnings=[w.as_dict() for w in written.warnings], module_reopened=written.reopened)
        return Response(data, status=code)

    def _cells(self, serializer) -> dict[str, str]:
        return dict(serializer.validated_data)

    def _source(self) -> int:
        # A script with a token is "the API"; the lab pages post with the session: "entered by hand".
        return EntrySource.API_MODULE_UNIT_SPECIFIC if self.request.auth is not None else EntrySource.USER_MANUAL

    def list(self, request, cf: str, year: int):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, cf: str, year: int, pk: int):
        return Response(self.get_serializer(self._entry(pk)).data)

    def create(self, request, cf: str, year: int):
        access, report = self._writable()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._write(lambda: entry_create(self.spec, unit=access.unit, year=report.year_id,
                                                cells=self._cells(serializer), actor=request.user,
                                                source=self._source()), status.HTTP_201_CREATED)

    def partial_update(self, request, cf: str, year: int, pk: int):
        entry = self._changeable(pk)
        serializer = self.get_serializer(entry, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._write(lambda: entry_update(self.spec, entry, cells=self._cells(serializer), actor=request.user))

    @extend_schema(responses={200: inline_serializer("EntryDeleted", {
        "deleted": serializers.IntegerField(help_text="the id of the deleted row"),
        "module_reopened": serializers.BooleanField(help_text="the delete put a validated module back in progress"),
    })})
    def destroy(self, request, cf: str, year: int, pk: int):
        entry = self._changeable(pk)
        written = entry_delete(self.spec, entry, actor=request.user)
        return Response({"deleted": int(pk), "module_reopened": written.reopened})

    def _entry(self, pk):
        return get_object_or_404(self._rows(), pk=pk)

    def _changeable(self, pk):
        self._writable()
        entry = self._entry(pk)
        self.require(self.lab().may_change(self.spec, entry),
                     _("this row came from a back-office file: it is read-only here") if self.lab().may_write_kind(
                         self.spec) and not self.lab().own_only else _("you may not change this row"))
        return entry

    def _write(self, write, code=status.HTTP_200_OK) -> Response:
        try:
            with transaction.atomic():
                written = write()
        except EntryInvalid as exc:  # a rule that only the write could check (the row changed meanwhile)
            raise serializers.ValidationError(invalid_as_field_errors(exc)) from None
        return self._written(written, code)


# --- uploads ----------------------------------------------------------------------------------------------
@extend_schema_field(OpenApiTypes.BINARY)  # a file part (a plain FileField is documented as a URI to send)
class UploadedFileField(serializers.FileField):
    pass


UploadSerializer = inline_serializer("EntryUpload", {
    "file": UploadedFileField(help_text="A unit file of this kind (the CSV contract, no unit column)."),
    "dry_run": serializers.BooleanField(required=False, default=False,
                                        help_text="Check every row and write nothing (the preview)."),
})


class EntryUploadView(LabView):
    """A unit CSV file of one kind (appends): `dry_run` checks it and answers with the row errors; otherwise
    a valid file becomes a job whose progress is at `/api/v1/jobs/{id}/`. The unit's principal only."""

    spec: EntryKindSpec = None
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={
        200: OpenApiResponse(description="dry run: the check of every row"),
        202: OpenApiResponse(description="queued: the job and where to follow it"),
        400: OpenApiResponse(description="the file has errors: nothing written")})
    def post(self, request, cf: str, year: int):
        access, report = self.lab(), self.report()
        lab_spec(access, self.spec.name)
        self.require(access.can_validate, _("only the unit's principal uploads files"))
        self.require(report.year.is_started, _("the year is not open"))
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"code": "invalid", "detail": _("no file"), "errors": {"file": [_("a file is required")]}},
                            status=400)
        if upload.size > UPLOAD_MAX_BYTES:
            return Response({"code": "too_large", "detail": _("the file is larger than %(mb)s MB") % {
                "mb": UPLOAD_MAX_BYTES // (1024 * 1024)}}, status=413)
        content = upload.read()
        check = upload_check(self.spec, unit=access.unit, year=report.year_id, content=content, actor=request.user)
        dry_run = str(request.data.get("dry_run", "")).lower() in ("1", "true", "yes", "on")
        if dry_run or check["failed"]:
            return Response(check, status=400 if check["failed"] else 200)
        job = upload_queue(self.spec, unit=access.unit, year=report.year_id, content=content, file_name=upload.name,
                           actor=request.user, source="api", request=request)
        return Response({**check, "job": job.pk, "pipeline": job.pipeline_id, "progress": f"/api/v1/jobs/{job.pk}/"},
                        status=status.HTTP_202_ACCEPTED)


ENTRY_LIST_PARAMETERS = [
    OpenApiParameter("ordering", str, description="a column, id, kg_co2eq, created_at or updated_at; '-' first "
                                                  "for descending"),
    OpenApiParameter("search", str, description="text in any text column"),
    OpenApiParameter("source", str, description="where rows came from, e.g. user_manual"),
    OpenApiParameter("page", int), OpenApiParameter("page_size", int, description="at most 200"),
]
EntryViewSet.list = extend_schema(parameters=ENTRY_LIST_PARAMETERS)(EntryViewSet.list)
