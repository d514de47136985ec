"""JWT authentication that also refuses tokens issued before the account's tokens were revoked.

simplejwt refuses a token issued under another password (``password_changed``)
or for an inactive account. Deactivation also sets ``tokens_revoked_at``
(:func:`inspections.accounts.services.user_tokens_revoke`): a token issued
before it is refused with ``401 token_revoked``, even once the account is
active again. ``iat`` has whole seconds, so the comparison is with the
revocation's whole second: a token issued within the same second still counts.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from inspections.accounts.models import User


def token_check_not_revoked(payload: Any, user: User) -> None:
    """Raise ``401 token_revoked`` for a token issued before ``user.tokens_revoked_at``."""
    revoked = user.tokens_revoked_at
    issued = payload.get("iat")
    if revoked is not None and (not isinstance(issued, int | float) or issued < int(revoked.timestamp())):
        raise AuthenticationFailed(str(_("This token has been revoked.")), code="token_revoked")


class RevocableJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Any) -> Any:
        user = super().get_user(validated_token)
        assert isinstance(user, User)  # AUTH_USER_MODEL
        token_check_not_revoked(validated_token, user)
        return user


class RevocableJWTScheme(SimpleJWTScheme):
    """The schema's ``jwtAuth`` scheme, as for simplejwt's own class."""

    target_class = "inspections.accounts.api_auth.RevocableJWTAuthentication"
