"""The ASGI application the web server runs (uvicorn: see the Procfile).

Under ASGI the server's event loop receives each request body before a worker
thread sees the request: Django's ASGI handler reads the body (in memory up to
``FILE_UPLOAD_MAX_MEMORY_SIZE``, then a temporary file) and only then runs
the view in a thread. A phone sending a photo at 100 kB/s therefore holds no
thread and no database connection while its bytes trickle in, and ``GET me/``
is answered meanwhile. :class:`BoundedASGIHandler` runs at most
``QINGSHAN_WEB_THREADS`` views at a time, in the order their bodies arrived.

One consequence: a body is in the view's hands only once it has arrived
whole. A tus ``PATCH`` cut mid-way is lost whole, so phones send tus chunks of
at most 1 MiB (README), and a cut costs at most that much again.

:class:`BodyLimit` keeps the promise that an oversized body is refused on its
``Content-Length`` before anything is read: a request announcing more than the
largest body any endpoint takes (a photo plus its multipart framing) reaches
Django with an empty body, so the view answers from the header alone
(``413 photo_too_large``, ``413 upload_exceeds_length``, ``413
request_too_large``) and the server closes the connection without reading the
rest. A body without ``Content-Length`` (chunked) that grows past the same
limit is cut off and answered ``413 request_too_large``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

# Multipart framing around a photo: the other fields, boundaries and part headers.
MULTIPART_ALLOWANCE = 64 * 1024


def body_limit() -> int:
    """The largest request body any endpoint takes."""
    from django.conf import settings

    return int(settings.QINGSHAN_PHOTO_MAX_BYTES) + MULTIPART_ALLOWANCE


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimit:
    """Refuse an oversized request body without reading it (see the module's description)."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[], int] = body_limit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await self.app(scope, _empty_body(), send)
            return
        if announced is not None:
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        cut = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, watching_send)
        if cut and not started:
            await _too_large(scope, send)


def _empty_body() -> Receive:
    """A body that is empty, then never anything more (the rest is left unread on the socket)."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # Django listens for a disconnect while the view runs and cancels the wait when done.
        await asyncio.Future()
        raise AssertionError("unreachable")

    return receive


async def _too_large(scope: Scope, send: Send) -> None:
    from django.utils.translation import gettext as _

    from inspections.api.problems import RequestTooLarge, problem_body

    document = problem_body(
        status_code=413,
        code=RequestTooLarge.default_code,
        title=_("Payload too large."),
        detail=str(RequestTooLarge.default_detail),
        instance=scope.get("path", ""),
    )
    body = json.dumps(document, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BoundedASGIHandler(ASGIHandler):
    """Django's ASGI handler, running at most ``slots`` requests' views at a time, first come first served.

    Django's own runs every request whose body has arrived in a thread at once:
    under a burst (50 phones sending at the same moment) all of them share the
    interpreter's lock and the cores, and each finishes only near the end of the
    burst. Here the views queue for one of ``QINGSHAN_WEB_THREADS`` places in
    the order their bodies arrived, so the first ones are answered first, the
    process never holds more database connections than places, and the work
    done is the same. Bodies are still received by the event loop without a
    place (a slow phone holds none), and a streamed answer is sent after its
    view has given its place back.
    """

    def __init__(self, slots: int) -> None:
        super().__init__()
        self.places = slots
        self.slots = asyncio.Semaphore(slots)

    def load_middleware(self, is_async: bool = False) -> None:
        """The middleware chain built for one thread (as under WSGI), whatever ASGIHandler asks.

        Django's async chain hands every step between the event loop and the request's thread:
        each middleware's ``process_request`` and ``process_response`` and each
        ``process_view`` is a round trip through the loop (17 to 19 per request here, measured
        by tests/api/test_asgi_chain.py), and under load the loop is busy receiving other
        bodies, so each waits its turn. Here the
        chain and the view run in the request's thread in one go (:meth:`get_response_async`).
        """
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: Any) -> Any:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def run_get_response(self, request: Any) -> Any:
        async with self.slots:
            return await super().run_get_response(request)


def get_application() -> BodyLimit:
    django.setup(set_prefix=False)
    from django.conf import settings

    return BodyLimit(BoundedASGIHandler(settings.QINGSHAN_WEB_THREADS))


application = get_application()
