"""A web process runs at most ``QINGSHAN_WEB_THREADS`` views at a time, first come first served.

:class:`config.asgi.BoundedASGIHandler` is driven in one event loop with a
view stand-in (``get_response_async``) that waits until the test lets it go,
so every step is decided by the loop's order, not by timing: the requests
past the bound wait at the door, they enter in the order they came, and one
that gives up while waiting takes no place.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from config.asgi import BoundedASGIHandler, application


class Recording(BoundedASGIHandler):
    """The handler with views that record their entry and wait for the test to release them."""

    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.entered: list[str] = []
        self.running = 0
        self.most_running = 0
        self.release: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()

    async def get_response_async(self, request: Any) -> HttpResponse:
        name = request.path
        self.entered.append(name)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.changed.set()
        try:
            await self.release.setdefault(name, asyncio.Event()).wait()
        finally:
            self.running -= 1
        return HttpResponse(name)

    async def until_entered(self, count: int) -> None:
        while len(self.entered) < count:
            self.changed.clear()
            await self.changed.wait()

    def let_go(self, name: str) -> None:
        self.release.setdefault(name, asyncio.Event()).set()


def requests(*names: str) -> list[Any]:
    factory = RequestFactory()
    return [factory.get(name) for name in names]


def test_views_past_the_bound_wait_and_enter_in_the_order_they_came() -> None:
    async def scenario() -> None:
        handler = Recording(slots=2)
        tasks = [asyncio.create_task(handler.run_get_response(r)) for r in requests("/a", "/b", "/c", "/d")]
        await handler.until_entered(2)
        # Every task has had its turn in the loop: the two past the bound are at the door.
        assert handler.entered == ["/a", "/b"]
        handler.let_go("/b")
        await tasks[1]
        await handler.until_entered(3)
        assert handler.entered == ["/a", "/b", "/c"]
        for name in ("/a", "/c", "/d"):
            handler.let_go(name)
        answers = await asyncio.gather(*tasks)
        assert [a.content.decode() for a in answers] == ["/a", "/b", "/c", "/d"]
        assert handler.entered == ["/a", "/b", "/c", "/d"]
        assert handler.most_running == 2

    asyncio.run(scenario())


def test_a_request_that_gives_up_while_waiting_takes_no_place() -> None:
    async def scenario() -> None:
        handler = Recording(slots=1)
        first, gone, last = (
            asyncio.create_task(handler.run_get_response(r)) for r in requests("/first", "/gone", "/last")
        )
        await handler.until_entered(1)
        gone.cancel()  # the phone hung up while its request waited (Django cancels the task)
        handler.let_go("/first")
        await first
        await handler.until_entered(2)
        assert handler.entered == ["/first", "/last"]
        handler.let_go("/last")
        assert (await last).content == b"/last"
        assert gone.cancelled()
        assert handler.running == 0 and not handler.slots.locked()

    asyncio.run(scenario())


def test_the_application_runs_the_bounded_handler_with_the_configured_places() -> None:
    handler = application.app
    assert isinstance(handler, BoundedASGIHandler)
    assert handler.places == settings.QINGSHAN_WEB_THREADS
