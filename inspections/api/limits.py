"""Request limits the API answers in its own words rather than the web server's.

The web server (uvicorn with h11, see the Procfile) refuses a request head
larger than 16 KiB (``--h11-max-incomplete-event-size``) with a plain 400; this
middleware answers anything longer than ``QINGSHAN_MAX_URL_LENGTH`` (4096) with
a ``414 uri_too_long`` problem document, so a client that sends a long query
string gets a stable code. Oversized bodies are refused on their
``Content-Length`` before they are read, by ``config.asgi.BodyLimit``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from inspections.api.problems import uri_too_long


class UrlLengthLimitMiddleware:
    """Refuse a URL (path and query string) longer than ``QINGSHAN_MAX_URL_LENGTH``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = len(request.path) + len(request.META.get("QUERY_STRING", ""))
        if length > settings.QINGSHAN_MAX_URL_LENGTH:
            return uri_too_long(request)
        return self.get_response(request)
