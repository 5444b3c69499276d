"""API: location autocomplete, `GET /api/v1/locations/?mode=plane|train&q=…` (signed-in users).

Locations are reference data every user may read (a lab member picks the airports and stations of
their trips), so there is no scoping here; authentication is the DRF default (IsAuthenticated).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from factors.models import Location, TransportMode
from factors.selectors import MIN_QUERY, search_locations

__all__ = ["LocationSearchView", "LocationSuggestionSerializer"]

DEFAULT_LIMIT, MAX_LIMIT = 20, 50


class LocationSuggestionSerializer(serializers.ModelSerializer):
    mode = serializers.CharField(source="transport_mode", read_only=True)
    label = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = ["id", "name", "iata_code", "country_code", "municipality", "mode", "label"]
        read_only_fields = fields

    def get_label(self, loc: Location) -> str:
        """What a picker shows: "GVA – Geneva Cointrin International Airport (CH)", "Genève (CH)",
        "Genève-Aéroport, Le Grand-Saconnex (CH)" (the municipality when the name does not say it)."""
        place = f"{loc.name}, {loc.municipality}" if loc.municipality and loc.municipality not in loc.name else loc.name
        return f"{loc.iata_code} – {place} ({loc.country_code})" if loc.iata_code else f"{place} ({loc.country_code})"


_ERROR = inline_serializer("LocationSearchError", fields={"code": serializers.CharField(),
                                                         "detail": serializers.CharField()})


def _error(code: str, detail: str) -> Response:
    return Response({"code": code, "detail": detail}, status=status.HTTP_400_BAD_REQUEST)


class LocationSearchView(APIView):
    """Airports or train stations matching `q`, best first (factors.selectors.search_locations)."""

    @extend_schema(
        operation_id="locations_search",
        summary="Location autocomplete",
        description=(
            "Airports (`mode=plane`) or train stations (`mode=train`) matching `q` by IATA code or by name, "
            "keywords or municipality, ignoring case and accents, English names included (`Geneva` finds "
            "`Genève`). Exact IATA code first, then Switzerland, then by airport size, then by match quality. "
            f"Fewer than {MIN_QUERY} characters: an empty list."),
        parameters=[
            OpenApiParameter("mode", OpenApiTypes.STR, required=True, enum=TransportMode.values,
                             description="Transport mode."),
            OpenApiParameter("q", OpenApiTypes.STR, required=True, description="What the user typed."),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False,
                             description=f"At most this many results (default {DEFAULT_LIMIT}, max {MAX_LIMIT})."),
        ],
        responses={200: LocationSuggestionSerializer(many=True), 400: _ERROR},
    )
    def get(self, request):
        mode = request.query_params.get("mode", "")
        if mode not in TransportMode.values:
            return _error("invalid_mode", f"mode must be one of: {', '.join(TransportMode.values)}")
        if "q" not in request.query_params:
            return _error("missing_q", "q is required")
        try:
            limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return _error("invalid_limit", "limit must be an integer")
        if limit < 1:
            return _error("invalid_limit", "limit must be at least 1")
        found = search_locations(mode, request.query_params["q"], min(limit, MAX_LIMIT))
        return Response(LocationSuggestionSerializer(found, many=True).data)
