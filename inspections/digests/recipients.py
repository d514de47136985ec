"""Who receives digests, and each recipient's choice of kinds.

A recipient is an active account with an address, a jurisdiction and the
``inspections.receive_digest`` permission (the supervisor role carries it;
it can also be granted to one account or another group), who has not opted
out of the kind. Without a :class:`DigestSubscription` row, a recipient
receives both kinds.

Opting out is one click (RFC 8058): the link carries a token naming a user and a
kind, signed with the salt ``inspections.digests.unsubscribe`` (never change it:
the links in emails already sent carry it), and never expires.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

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


def unsubscribe_token(*, user: User, kind: str) -> str:
    """A signed token naming the user and the kind; it does not expire (the link is in old emails)."""
    return signing.dumps({"u": user.pk, "k": kind}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """``(user id, kind)`` of a token we signed, or ``None`` for a forged or malformed one."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in DigestKind.values:
        return None
    return int(data["u"]), str(data["k"])


def unsubscribe_url(*, user: User, kind: str) -> str:
    """The absolute one-click link for ``user`` and ``kind`` (the List-Unsubscribe header and the footer)."""
    path = reverse("digest-unsubscribe", args=[unsubscribe_token(user=user, kind=kind)])
    return f"{settings.QINGSHAN_SITE_URL}{path}"


@transaction.atomic
def digest_unsubscribe(*, token: str) -> tuple[User, str] | None:
    """Opt the token's user out of the token's kind; ``None`` if the token is not ours."""
    read = unsubscribe_token_read(token)
    if read is None:
        return None
    user = User.objects.filter(pk=read[0]).first()
    if user is None:
        return None
    digest_subscription_set(user=user, kind=read[1], enabled=False)
    return user, read[1]
