"""API endpoints of the activity modules: the upload template of each entry kind."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from infra.importing import IMPORTERS
from modules.registry import KINDS


class TemplateView(APIView):
    """The upload template of a kind: its header (required columns first) and how to fill it, UTF-8 with BOM."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, kind: str):
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
