"""What a locked-out login is answered (django-axes' ``AXES_LOCKOUT_CALLABLE``).

The API answers ``429 account_locked``, a problem document with
``Retry-After``; the admin shows its login page's frame with the message in
the user's language. The lock itself, and what is counted, is axes' (see the
``AXES_*`` settings): the account and the client address are each locked
after ``QINGSHAN_LOGIN_FAILURE_LIMIT`` failed logins.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions

from config.proxies import client_address
from inspections.api.problems import problem_response


class AccountLocked(exceptions.APIException):
    """Too many failed logins for this account or from this address (``429 account_locked``)."""

    status_code = 429
    default_code = "account_locked"

    def __init__(self, wait: int | None) -> None:
        super().__init__(lockout_message(wait))
        self.wait = wait


def lockout_retry_after(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int | None:
    """Seconds until the lock lifts: the cool-off after the latest failure that counts, if known."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    username = get_client_username(request, credentials)
    match = Q()
    if username and "username" in settings.AXES_LOCKOUT_PARAMETERS:
        match |= Q(username=username)
    address = client_address(request)
    if address and "ip_address" in settings.AXES_LOCKOUT_PARAMETERS:
        match |= Q(ip_address=address)
    if not match:
        return None
    latest = AccessAttempt.objects.filter(match).aggregate(latest=Max("attempt_time"))["latest"]
    if latest is None:
        return None
    return max(math.ceil((latest + cool_off - timezone.now()).total_seconds()), 1)


def lockout_message(wait: int | None) -> str:
    if wait is None:
        return _("Too many failed logins: this account or this address is locked.")
    minutes = max(math.ceil(wait / 60), 1)
    return _(
        "Too many failed logins: this account or this address is locked; try again in %(minutes)d minutes."
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    wait = lockout_retry_after(request, credentials)
    if request.path.startswith("/api/"):
        response: HttpResponse = problem_response(
            request, status_code=429, code="account_locked", detail=lockout_message(wait)
        )
    else:
        context = {
            **admin.site.each_context(request),
            "title": _("Log in"),
            "message": lockout_message(wait),
        }
        response = render(request, "admin/inspections/locked_out.html", context, status=429)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response
