"""The browser suite's tab: log in, visit, scan the visible text for English, take screenshots.

Each page walked is scanned for Latin words that are not codes, units or names
(``ALLOWED_LATIN``): an untranslated string shows up as one. Screenshots are taken at a
desktop's width (1280 px) and a phone's (390 px).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PASSWORD = "pw-for-tests-only"  # the builders' password
WIDTHS = (1280, 390)

# Words a Chinese page may show in Latin letters: codes, units, formats and names.
ALLOWED_LATIN = {
    "English",  # the public pages' language switch, in its own language
    "UUID",
    "SHA",
    "EXIF",
    "GPS",
    "WGS",
    "GCJ",
    "JPEG",
    "PDF",
    "CSV",
    "XLSX",
    "API",
    "ID",
    "IP",  # IP 地址
    "Xiaomi",  # the test camera's make (EXIF), shown as recorded
    "Control",  # keys named in Django's multiple-choice help: 按住 Control 或 Mac 上的 Command
    "Command",
    "Mac",
    "min",  # the risk weights' formula: min(距上次检查天数, 上限)
}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
# Data, not wording: addresses and paths, UUIDs and hashes, codes with digits (a camera's model,
# a credential number).
DATA = re.compile(
    r"https?://\S+|(?<![\w/])/[\w.-]+(?:/[\w.-]*)+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\b[0-9a-f]{16,}\b|\b\S*\d\S*\b"
)


def untranslated(text: str) -> set[str]:
    """Latin words of the visible text that are not codes or names from the allowlist."""
    words = LATIN_WORD.findall(DATA.sub(" ", text))
    return {word for word in words if word not in ALLOWED_LATIN and len(word) > 1}


class Walk:
    """One supervisor's tab: visits pages, scans them, takes their screenshots."""

    def __init__(self, browser: Any, base: str, who: str, folder: Path) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.who = who
        self.folder = folder
        self.found: dict[str, set[str]] = {}

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        return response

    def look(self, name: str) -> str:
        """Scan the page's visible text and take both screenshots; the text."""
        text = self.page.inner_text("body")
        # What the page marks as data not to translate (an email's headers, say) is not wording.
        data = self.page.eval_on_selector_all("[translate=no]", "elements => elements.map(e => e.innerText)")
        scanned = text
        for part in sorted(data, key=len, reverse=True):  # "List-Unsubscribe-Post" before its prefix
            scanned = scanned.replace(part, " ")
        words = untranslated(scanned)
        if words:
            self.found[f"{self.who}/{name} {self.page.url}"] = words
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(self.folder / f"{self.who}-{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})
        return text

    def overflow(self) -> int:
        """How far the page, or any table on it, reaches past the window's width (px)."""
        return int(
            self.page.evaluate(
                """() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth,
                    ...Array.from(document.querySelectorAll('.results, #result_list, fieldset, .module'))
                        .map(e => e.scrollWidth - e.clientWidth))"""
            )
        )

    def login(self, username: str) -> None:
        self.go("/admin/login/?next=/admin/")
        self.look("login")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(self.base + "/admin/")

    def listed_count(self, href: str) -> int:
        """How many rows the admin list at ``href`` says it holds (its paginator's count)."""
        self.go(href)
        paginator = self.page.inner_text("p.paginator")
        match = re.match(r"\s*(\d+)", paginator)
        assert match is not None, (href, paginator)
        return int(match.group(1))
