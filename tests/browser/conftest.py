"""The browser suite: Playwright driving the system's Chromium against a live server (slow lane).

No browser is downloaded: the suite drives Debian's ``chromium`` package
(``/usr/bin/chromium``, or ``QINGSHAN_CHROMIUM``), which ``.ci/run`` installs with
``fonts-noto-cjk`` so that Chinese renders in the screenshots. Screenshots go to
``<QINGSHAN_VAR_DIR>/browser/screenshots/`` (kept by the CI as artefacts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("QINGSHAN_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here starts a browser and a live server: the slow lane, always."""
    unmarked = [
        item.nodeid
        for item in items
        if "/browser/" in item.nodeid and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests in tests/browser/ must be marked slow: {unmarked}")


@pytest.fixture
def screenshots() -> Path:
    folder = Path(settings.VAR_DIR) / "browser" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium (the system's), closed after the test.

    Playwright's synchronous API runs an event loop in this thread, so Django
    would take the test's own database reads for async code: they are not
    (the live server answers in threads of its own). With that loop running, Django keeps
    this thread's connections apart from those it has without it (asgiref's thread-critical
    local becomes a context variable), so the ones the test opened are closed here, under
    the loop: left open, the test database could not be dropped at the end of the run.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk"
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()
            connections.close_all()
