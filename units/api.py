"""Who am I and where do I work — the first endpoints of the lab API."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from units.scoping import lab_memberships
from units.selectors import user_roles


class RoleSerializer(serializers.Serializer):
    role = serializers.CharField()
    scope = serializers.CharField()
    cf = serializers.CharField(allow_null=True)


class MeSerializer(serializers.Serializer):
    institutional_id = serializers.CharField()
    provider = serializers.CharField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    roles = RoleSerializer(many=True)


class MeView(APIView):
    """The signed-in user, their roles and scopes."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        roles = [{"role": h.role.value, "scope": h.kind.value, "cf": h.cf} for h in user_roles(user)]
        data = {"institutional_id": user.institutional_id, "provider": user.provider, "email": user.email,
                "display_name": user.display_name, "roles": roles}
        return Response(MeSerializer(data).data)


class WorkspaceUnitSerializer(serializers.Serializer):
    cf = serializers.CharField(source="unit.institutional_id")
    name = serializers.CharField(source="unit.name")
    label_en = serializers.CharField(source="unit.label_en")
    affiliations = serializers.ListField(source="unit.affiliations", child=serializers.CharField())
    role = serializers.CharField()


class MyUnitsView(APIView):
    """My workspace: the level-4 units I work in, with my strongest role on each."""

    @extend_schema(responses=WorkspaceUnitSerializer(many=True))
    def get(self, request):
        return Response(WorkspaceUnitSerializer(lab_memberships(request.user), many=True).data)
