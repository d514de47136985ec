"""Writes on accounts: ending every token of an account."""

from __future__ import annotations

from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from inspections.accounts.models import User


@transaction.atomic
def user_tokens_revoke(*, user: User) -> int:
    """Blacklist every refresh token issued to ``user`` that is not yet; the number blacklisted.

    Deactivation calls it, and so does the reuse of a rotated refresh token
    (the sign of a stolen one). Access tokens are refused while the account is
    inactive, and live at most ``JWT_ACCESS_MINUTES``.
    """
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
