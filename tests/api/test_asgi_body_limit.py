"""The ASGI application refuses an oversized body on its Content-Length, without reading it.

The application is driven as the server drives it (asgiref's communicator):
a request announcing more than a photo may be is answered from its headers,
while the test has sent none of the body; a chunked body that grows past the
limit is cut off and answered ``413 request_too_large``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken

from config.asgi import MULTIPART_ALLOWANCE, BodyLimit, application
from tests import builders
from tests.builders import inspector as team_member


def scope(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def answer(communicator: ApplicationCommunicator) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
    start = await communicator.receive_output(30)
    assert start["type"] == "http.response.start"
    body = b""
    while True:
        message = await communicator.receive_output(30)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], dict(start["headers"]), json.loads(body)


@pytest.mark.django_db(transaction=True)
def test_a_photo_announced_too_large_is_refused_before_its_body_is_sent() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    token = str(RefreshToken.for_user(member.user).access_token)
    announced = settings.QINGSHAN_PHOTO_MAX_BYTES + MULTIPART_ALLOWANCE + 1

    async def run() -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
        request = scope(
            "/api/v1/photos/",
            [
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"multipart/form-data; boundary=x"),
                (b"content-length", str(announced).encode()),
            ],
        )
        communicator = ApplicationCommunicator(application, request)
        # Not one byte of the body is sent: reading it would wait until the timeout.
        return await answer(communicator)

    status, headers, body = asyncio.run(run())
    assert status == 413
    assert headers[b"Content-Type"].startswith(b"application/problem+json")
    assert body["code"] == "photo_too_large" and body["max_bytes"] == settings.QINGSHAN_PHOTO_MAX_BYTES
    assert inspection.photos.count() == 0


def test_a_chunked_body_past_the_limit_is_cut_off_with_a_problem_document() -> None:
    seen: list[bytes] = []

    async def app(scope_: Any, receive: Any, send: Any) -> None:
        while True:  # reads like Django's handler; gives up without answering on a disconnect
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            seen.append(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def run(chunks: int) -> tuple[int, Any]:
        communicator = ApplicationCommunicator(BodyLimit(app, limit=lambda: 1000), scope("/api/v1/x/", []))
        for index in range(chunks):
            await communicator.send_input(
                {"type": "http.request", "body": b"x" * 400, "more_body": index < chunks - 1}
            )
        start = await communicator.receive_output(30)
        if start["status"] == 413:
            body = await communicator.receive_output(30)
            return 413, json.loads(body["body"])
        return start["status"], None

    assert asyncio.run(run(2)) == (201, None)  # 800 bytes: within the limit, passed on whole
    assert b"".join(seen) == b"x" * 800
    seen.clear()
    status, problem = asyncio.run(run(4))  # 1,600 bytes
    assert status == 413 and problem["code"] == "request_too_large" and problem["status"] == 413
    assert sum(map(len, seen)) <= 1000
