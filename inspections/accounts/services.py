"""Writes on accounts: ending every token of an account."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from inspections.accounts.models import User


@transaction.atomic
def user_tokens_revoke(*, user: User, now: dt.datetime | None = None) -> int:
    """End every token issued to ``user`` so far; the number of refresh tokens blacklisted.

    Deactivation calls it, and so does the reuse of a rotated refresh token
    (the sign of a stolen one). Refresh tokens are blacklisted; access tokens,
    which the database does not list, are refused by their issue time
    (``tokens_revoked_at``, checked by ``api_auth``), so reactivating the
    account does not bring any of them back.
    """
    user.tokens_revoked_at = now or timezone.now()
    user.save(update_fields=["tokens_revoked_at"])
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
