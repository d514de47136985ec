"""Token endpoints: simplejwt's views with login throttling; ``me/``.

Tokens are revoked by a password change (``CHECK_REVOKE_TOKEN``): simplejwt
refuses such an access token, and :class:`TokenRefreshSerializer` such a
refresh token, both with ``401 password_changed``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from inspections.accounts.models import Inspector, User
from villages.api.serializers import DivisionSummarySerializer


def refresh_token_check_not_revoked(token: str) -> None:
    """Refuse a refresh token issued before the account's password last changed (401 ``password_changed``).

    simplejwt refuses such an access token itself; its refresh endpoint does not
    look at the password, and would mint access tokens that are refused at once.
    A token that is not valid at all is left to simplejwt to refuse.
    """
    try:
        payload = RefreshToken(token).payload  # type: ignore[arg-type]
    except TokenError:
        return
    user = User.objects.filter(pk=payload.get(jwt_settings.USER_ID_CLAIM) or 0).first()
    if user is not None and payload.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise AuthenticationFailed(str(_("The user's password has been changed.")), code="password_changed")


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

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = request.data.get("refresh") if isinstance(request.data, dict) else None
        if isinstance(token, str):
            refresh_token_check_not_revoked(token)
        return super().post(request, *args, **kwargs)


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
