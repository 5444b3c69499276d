"""API endpoints of the campaign core: job progress and the CSV templates of every import kind."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon.importing import IMPORTERS
from carbon.jobs.models import Job
from units.scoping import is_backoffice_admin


class JobSerializer(serializers.ModelSerializer):
    eta_seconds = serializers.FloatField(read_only=True)
    pipeline_status = serializers.CharField(source="pipeline.status", read_only=True)

    class Meta:
        model = Job
        fields = ["id", "pipeline", "pipeline_status", "job_type", "kind", "year", "unit_cf", "state", "result",
                  "status_message", "phase", "rows_done", "rows_total", "rows_per_second", "eta_seconds",
                  "errors", "warnings", "summary", "created_at", "started_at", "finished_at"]


class JobView(APIView):
    """Progress of a job I may see: one I started, or any job for a back-office admin. Others: 404."""

    permission_classes = [IsAuthenticated]

    def get(self, request, pk: int):
        job = Job.objects.select_related("pipeline").filter(pk=pk).first()
        if job is None or not (job.created_by_id == request.user.pk
                               or is_backoffice_admin(request.user)):
            raise Http404
        return Response(JobSerializer(job).data)


class TemplateView(APIView):
    """The upload template of a kind: its header (required columns first) and how to fill it, UTF-8 with BOM."""

    permission_classes = [IsAuthenticated]

    def get(self, request, kind: str):
        from modules.registry import KINDS

        spec = KINDS.get(kind)
        if spec is None or kind not in IMPORTERS:
            raise Http404
        columns = sorted(spec.columns, key=lambda c: not c.required)
        lines = [
            f"# {spec.label or spec.name}: one row per entry. Required: "
            + ", ".join(c.name for c in columns if c.required) + ".",
            "# Decimal point '.', dates YYYY-MM-DD. Lines starting with # are ignored. "
            "Optional kg_co2eq column: a total to store as is.",
            ",".join(c.name for c in columns),
        ]
        response = HttpResponse("\ufeff" + "\r\n".join(lines) + "\r\n", content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{kind}_template.csv"'
        return response
