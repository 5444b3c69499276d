"""API endpoint of the job machinery: the progress of a job."""

from __future__ import annotations

import io

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon.jobs.models import Job
from infra.csvio import ISSUE_HEADER, write_csv
from infra.events import emit
from units.scoping import is_backoffice_admin


class JobSerializer(serializers.ModelSerializer):
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)  # None until the job has a rate
    pipeline_status = serializers.CharField(source="pipeline.status", read_only=True)

    class Meta:
        model = Job
        fields = ["id", "pipeline", "pipeline_status", "job_type", "kind", "year", "unit_cf", "state", "result",
                  "status_message", "phase", "rows_done", "rows_total", "rows_per_second", "eta_seconds",
                  "errors", "warnings", "summary", "created_at", "started_at", "finished_at"]


def _job_of(request, pk: int) -> Job:
    job = Job.objects.select_related("pipeline").filter(pk=pk).first()
    if job is None or not (job.created_by_id == request.user.pk or is_backoffice_admin(request.user)):
        raise Http404
    return job


class JobView(APIView):
    """Progress of a job I may see: one I started, or any job for a back-office admin. Others: 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobSerializer)
    def get(self, request, pk: int):
        return Response(JobSerializer(_job_of(request, pk)).data)


class JobErrorsView(APIView):
    """The row errors and warnings of a job as a CSV file (formula-safe, UTF-8 with BOM), to fix the file."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        job = _job_of(request, pk)
        rows = ([{"severity": "error", **e} for e in job.errors] + [{"severity": "warning", **w} for w in job.warnings])
        buffer = io.StringIO()
        buffer.write("\ufeff")
        write_csv(rows, ["severity", *ISSUE_HEADER], buffer)
        emit("downloaded", source="api", actor=request.user, obj=job, request=request, list="job errors",
             format="csv", rows=len(rows))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-errors.csv"'
        return response
