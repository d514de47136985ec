"""Token endpoints: simplejwt's views with login throttling and lockout; ``me/``.

Tokens are revoked by a password change (``CHECK_REVOKE_TOKEN``): simplejwt
refuses such an access token, and :class:`TokenRefreshSerializer` such a
refresh token, both with ``401 password_changed``.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from inspections.accounts.api_auth import token_check_not_revoked
from inspections.accounts.api_lockout import AccountLocked, lockout_retry_after
from inspections.accounts.models import Inspector, User
from inspections.accounts.services import user_tokens_revoke
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
    if user is not None:
        token_check_not_revoked(payload, user)


def _field(request: Request, name: str) -> str | None:
    value = request.data.get(name) if isinstance(request.data, dict) else None
    return value if isinstance(value, str) else None


def _locked(request: Request, username: str | None) -> AccountLocked | None:
    credentials = {settings.AXES_USERNAME_FORM_FIELD: username}  # type: ignore[misc]
    if AxesProxyHandler.is_allowed(request, credentials):  # type: ignore[arg-type]
        return None
    return AccountLocked(lockout_retry_after(request, credentials))  # type: ignore[arg-type]


@extend_schema(tags=["auth"])
class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token.

    An account or an address with too many failed logins is locked
    (``429 account_locked``): the password is not even checked.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    problem_statuses = ["400", "401", "429"]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        username = _field(request, "username")
        locked = _locked(request, username)
        if locked is not None:
            raise locked
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # The failure that reaches the limit locks at once.
            locked = _locked(request, username)
            if locked is not None:
                raise locked from None
            raise


class AccountRefreshThrottle(SimpleRateThrottle):
    """Token refreshes counted per account (``token_refresh`` rate), not per address.

    Phones behind one carrier NAT share an address; the account is read from
    the refresh token once its signature and expiry are checked. A token that
    is not ours is counted by the client address.
    """

    scope = "token_refresh"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = _field(request, "refresh")
        user_id = None
        if token is not None:
            try:
                payload = token_backend.decode(token, verify=True)  # type: ignore[arg-type]
                user_id = payload.get(jwt_settings.USER_ID_CLAIM)
            except TokenBackendError:
                user_id = None
        ident = f"user:{user_id}" if user_id else f"address:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def refresh_token_check_not_reused(token: str) -> None:
    """A rotated (blacklisted) refresh token used again: revoke the account's every refresh token.

    Only the thief or the owner holds a rotated token; its reuse means one of
    them has a copy, so neither keeps a session. simplejwt then refuses the
    token itself (401 ``token_not_valid``).
    """
    try:
        payload = token_backend.decode(token, verify=True)  # type: ignore[arg-type]
    except TokenBackendError:
        return
    jti = payload.get(jwt_settings.JTI_CLAIM)
    if jti and BlacklistedToken.objects.filter(token__jti=jti).exists():
        user = User.objects.filter(pk=payload.get(jwt_settings.USER_ID_CLAIM) or 0).first()
        if user is not None:
            user_tokens_revoke(user=user)


@extend_schema(tags=["auth"])
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token.

    The refresh token used is blacklisted: it cannot be used twice.
    """

    throttle_classes = [AccountRefreshThrottle]
    problem_statuses = ["400", "401"]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = _field(request, "refresh")
        if token is not None:
            refresh_token_check_not_revoked(token)
            refresh_token_check_not_reused(token)
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
