"""The one-click unsubscribe view of the digests (RFC 8058); the signed tokens are in ``recipients``.

``GET`` shows a page with a button
(mail scanners follow links: a GET must change nothing); ``POST``
unsubscribes, whether from that button or from the mail client's one-click
request (``List-Unsubscribe=One-Click``), which comes without a CSRF token:
the signed token in the URL is the authorisation.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from inspections.digests.models import DigestKind
from inspections.digests.recipients import digest_unsubscribe, unsubscribe_token_valid


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    valid = unsubscribe_token_valid(token)
    if valid is None:
        return render(request, "inspections/digests/unsubscribe.html", {"invalid": True}, status=400)
    user, kind = valid
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {"kind_label": DigestKind(kind).label, "done": False}
        if request.method == "POST":
            if digest_unsubscribe(token=token) is None:  # went stale since the check above
                return render(request, "inspections/digests/unsubscribe.html", {"invalid": True}, status=400)
            context["done"] = True
        return render(request, "inspections/digests/unsubscribe.html", context)
