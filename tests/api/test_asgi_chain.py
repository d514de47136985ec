"""Under ASGI the middleware chain and the view run in the request's thread in one go.

Django's async chain hands each middleware step (``process_request``,
``process_view``, ``process_response``) between the event loop and the
request's thread; :class:`config.asgi.BoundedASGIHandler` builds the chain for
one thread instead, so a request crosses from the loop to its thread a fixed,
small number of times, however many middlewares there are.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

import asgiref.sync
import pytest

from config.asgi import BoundedASGIHandler


def http_get(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def serve(handler: BoundedASGIHandler, scope: dict[str, Any]) -> tuple[int, bytes]:
    sent: list[Mapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not getattr(receive, "given", False):
            receive.given = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Future()  # no disconnect: the handler cancels this wait when done
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(handler(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def test_the_chain_is_built_for_one_thread() -> None:
    built = vars(BoundedASGIHandler(2))  # what BaseHandler.load_middleware set

    assert not inspect.iscoroutinefunction(built["_middleware_chain"])
    assert built["_view_middleware"]
    assert not any(inspect.iscoroutinefunction(method) for method in built["_view_middleware"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/healthz", "/api/v1/me/", "/admin/login/"])
def test_a_request_crosses_to_its_thread_a_fixed_few_times(monkeypatch, path) -> None:  # type: ignore[no-untyped-def]
    crossings: list[str] = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counted)

    status, _body = serve(BoundedASGIHandler(2), http_get(path))

    # The answer came through the whole chain (an anonymous me/ is refused by the API's own words).
    assert status == {"/healthz": 200, "/api/v1/me/": 401, "/admin/login/": 200}[path]
    # request_started's receivers, the chain with its view, the response's close: three crossings.
    # Django's async chain made one more for each middleware step (a dozen and more here).
    assert len(crossings) <= 3, crossings
