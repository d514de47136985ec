"""Token endpoints: simplejwt's views with login throttling."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from inspections.accounts.models import Inspector, User
from villages.api.serializers import DivisionSummarySerializer


@extend_schema(tags=["auth"])
class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    problem_statuses = ["400", "401"]


@extend_schema(tags=["auth"])
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new access token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    problem_statuses = ["400", "401"]


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


class MeView(APIView):
    """The caller's account: roles, jurisdiction and inspector profile."""

    @extend_schema(responses=MeOutput, tags=["accounts"])
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated guarantees it
        user = (
            User.objects.select_related("jurisdiction", "inspector_profile__home_division")
            .prefetch_related("groups")
            .get(pk=request.user.id)
        )
        return Response(MeOutput(user).data)
