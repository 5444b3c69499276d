"""API endpoint of the job machinery: the progress of a job."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

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

    @extend_schema(responses=JobSerializer)
    def get(self, request, pk: int):
        job = Job.objects.select_related("pipeline").filter(pk=pk).first()
        if job is None or not (job.created_by_id == request.user.pk
                               or is_backoffice_admin(request.user)):
            raise Http404
        return Response(JobSerializer(job).data)
