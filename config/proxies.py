"""Forwarding headers are believed only from the reverse proxies the deployment names.

``X-Forwarded-For`` says which client a request came from (the login
throttle counts by it) and ``X-Forwarded-Proto`` whether it came over TLS.
Anyone can send them, so a request that does not come straight from one of
``QINGSHAN_TRUSTED_PROXIES`` (none by default) has them removed before
anything reads them: the throttle then counts by the connection's own
address, and the scheme is the connection's own.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FORWARDING_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


class UntrustedForwardingHeadersMiddleware:
    """Drop the forwarding headers of a request whose peer is not a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("REMOTE_ADDR") not in settings.QINGSHAN_TRUSTED_PROXIES:
            for header in FORWARDING_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the last ``X-Forwarded-For`` entry from a trusted proxy, else the peer.

    The one rule the login throttle and the lockout (django-axes) count by, the
    same as DRF's ``NUM_PROXIES = 1``. An untrusted peer's header was removed by
    the middleware above; it is ignored here too, in case it runs first.
    """
    peer = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if peer in settings.QINGSHAN_TRUSTED_PROXIES and forwarded.strip():
        return forwarded.split(",")[-1].strip() or peer
    return peer
