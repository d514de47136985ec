"""Who receives digests, and each recipient's choice of kinds.

A recipient is an active account with an address, a jurisdiction and the
``inspections.receive_digest`` permission (the supervisor role carries it;
it can also be granted to one account or another group), who has not opted
out of the kind. Without a :class:`DigestSubscription` row, a recipient
receives both kinds.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q, QuerySet

from inspections.accounts.models import User
from inspections.digests.models import DigestSubscription


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
