"""The one-click unsubscribe link of the digests (RFC 8058): signed tokens and the view.

The token names a user and a kind, signed with the salt
``inspections.digests.unsubscribe`` (never change it: the links in emails
already sent carry it) and never expires. ``GET`` shows a page with a button
(mail scanners follow links: a GET must change nothing); ``POST``
unsubscribes, whether from that button or from the mail client's one-click
request (``List-Unsubscribe=One-Click``), which comes without a CSRF token:
the signed token in the URL is the authorisation.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from inspections.accounts.models import User
from inspections.digests.models import DigestKind
from inspections.digests.recipients import digest_subscription_set

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


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    read = unsubscribe_token_read(token)
    user = User.objects.filter(pk=read[0]).first() if read is not None else None
    if read is None or user is None:
        return render(request, "inspections/digests/unsubscribe.html", {"invalid": True}, status=400)
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {"kind_label": DigestKind(read[1]).label, "done": False}
        if request.method == "POST":
            digest_unsubscribe(token=token)
            context["done"] = True
        return render(request, "inspections/digests/unsubscribe.html", context)
