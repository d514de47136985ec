"""Who receives digests, and each recipient's choice of kinds.

A recipient is an active account with an address, a jurisdiction and the
``inspections.receive_digest`` permission (the supervisor role carries it;
it can also be granted to one account or another group), who has not opted
out of the kind. Without a :class:`DigestSubscription` row, a recipient
receives both kinds.

Opting out is one click (RFC 8058): the link carries a token naming a user and a
kind, signed with the salt ``inspections.digests.unsubscribe`` (never change it:
the links in emails already sent carry it). A link expires after
``QINGSHAN_UNSUBSCRIBE_LINK_DAYS``, and one signed before the user last
(re-)subscribed does nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from inspections.accounts.models import User
from inspections.digests.models import DigestKind, DigestSubscription


def _permission_q() -> Q:
    """Holds ``inspections.receive_digest`` directly or through a group (superusers: all)."""
    permission = Permission.objects.filter(
        content_type__app_label="inspections", codename="receive_digest"
    ).values("pk")
    via_group = Exists(
        User.groups.through.objects.filter(user_id=OuterRef("pk"), group__permissions__in=permission)
    )
    direct = Exists(
        User.user_permissions.through.objects.filter(user_id=OuterRef("pk"), permission__in=permission)
    )
    return Q(is_superuser=True) | Q(via_group) | Q(direct)


def digest_recipients(*, kind: str) -> QuerySet[User]:
    """Who receives ``kind`` digests: active accounts with an address, a jurisdiction
    and the digest permission (supervisors carry it), who have not opted out of it."""
    opted_out = DigestSubscription.objects.filter(user_id=OuterRef("pk"), kind=kind, enabled=False)
    return (
        User.objects.filter(is_active=True, jurisdiction__isnull=False)
        .exclude(email="")
        .filter(_permission_q())
        .filter(~Exists(opted_out))
    )


def digest_subscription_set(*, user: User, kind: str, enabled: bool, send_empty: bool | None = None) -> None:
    """Opt ``user`` in or out of ``kind`` (and optionally ask for empty digests)."""
    defaults: dict[str, Any] = {"enabled": enabled}
    if send_empty is not None:
        defaults["send_empty"] = send_empty
    DigestSubscription.objects.update_or_create(user=user, kind=kind, defaults=defaults)


UNSUBSCRIBE_SALT = "inspections.digests.unsubscribe"


def unsubscribe_token(*, user: User, kind: str, now: dt.datetime | None = None) -> str:
    """A signed token naming the user and the kind, and when it was issued (``t``, Unix seconds)."""
    issued = (now or timezone.now()).timestamp()
    return signing.dumps({"u": user.pk, "k": kind, "t": issued}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """``(user id, kind)`` of a token we signed, or ``None`` for a forged, malformed or expired one.

    A token expires ``QINGSHAN_UNSUBSCRIBE_LINK_DAYS`` after it was signed.
    """
    read = _token_read(token)
    return None if read is None else (read[0], read[1])


def _token_read(token: str) -> tuple[int, str, float] | None:
    max_age = dt.timedelta(days=settings.QINGSHAN_UNSUBSCRIBE_LINK_DAYS)
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired too
        return None
    if not isinstance(data, dict) or data.get("k") not in DigestKind.values:
        return None
    issued = data.get("t")
    if not isinstance(issued, int | float):
        # Links sent before ``t`` existed: the signature's own timestamp (whole seconds).
        issued = float(signing.b62_decode(token.rsplit(":", 2)[-2]))
    return int(data["u"]), str(data["k"]), float(issued)


def unsubscribe_url(*, user: User, kind: str) -> str:
    """The absolute one-click link for ``user`` and ``kind`` (the List-Unsubscribe header and the footer)."""
    path = reverse("digest-unsubscribe", args=[unsubscribe_token(user=user, kind=kind)])
    return f"{settings.QINGSHAN_SITE_URL}{path}"


def unsubscribe_token_valid(token: str, *, lock: bool = False) -> tuple[User, str] | None:
    """``(user, kind)`` of a token that may still unsubscribe, or ``None``.

    ``None`` for a token that is not ours, expired, of a deleted user, or
    stale: signed before the user last (re-)subscribed to the kind, so that
    replaying an old link after a re-subscribe does nothing. ``lock`` locks
    the subscription row (inside a transaction).
    """
    read = _token_read(token)
    if read is None:
        return None
    user_id, kind, issued = read
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    subscriptions = DigestSubscription.objects.filter(user=user, kind=kind)
    subscription = (subscriptions.select_for_update() if lock else subscriptions).first()
    if subscription is not None and subscription.enabled and subscription.updated_at.timestamp() > issued:
        return None
    return user, kind


@transaction.atomic
def digest_unsubscribe(*, token: str) -> tuple[User, str] | None:
    """Opt the token's user out of the token's kind; ``None`` if the token may not (see above)."""
    valid = unsubscribe_token_valid(token, lock=True)
    if valid is None:
        return None
    user, kind = valid
    digest_subscription_set(user=user, kind=kind, enabled=False)
    return user, kind
