"""Writes on accounts: ending every token of an account, purging what has lapsed."""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from django.conf import settings
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


def accounts_purge_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what has lapsed: refresh tokens past their expiry (with their blacklist rows) and
    failed logins older than the lockout period. Lapsed rows protect nothing (an expired token is
    refused by its signature's date; an old failure no longer counts), and they grow with every
    login and refresh."""
    now = now or timezone.now()
    tokens, _ = OutstandingToken.objects.filter(expires_at__lt=now).delete()
    failures, _ = AccessAttempt.objects.filter(attempt_time__lt=now - settings.AXES_COOLOFF_TIME).delete()
    return {"tokens": tokens, "login_failures": failures}
