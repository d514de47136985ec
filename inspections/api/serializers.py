from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inspections.models import Inspector, User
from villages.api.serializers import DivisionSummarySerializer


class InspectorProfileOutput(serializers.ModelSerializer[Inspector]):
    home_division = DivisionSummarySerializer()

    class Meta:
        model = Inspector
        fields = ["credential_number", "unit", "home_division", "is_active"]


class MeOutput(serializers.ModelSerializer[User]):
    roles = serializers.SerializerMethodField()
    jurisdiction = DivisionSummarySerializer(allow_null=True)
    inspector = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "language",
            "roles",
            "jurisdiction",
            "inspector",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_roles(self, user: User) -> list[str]:
        return sorted(user.roles)

    @extend_schema_field(InspectorProfileOutput(allow_null=True))
    def get_inspector(self, user: User) -> dict[str, object] | None:
        profile = getattr(user, "inspector_profile", None)
        return InspectorProfileOutput(profile).data if profile is not None else None
