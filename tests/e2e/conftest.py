"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Marked `browser`; skipped with a reason when /usr/bin/chromium is absent. Screenshots of the main
pages go to <repo>/screenshots/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import translation

from refunddesk.core.i18n import compile_all

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses "async" contexts otherwise.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
compile_all()

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    translation.deactivate()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(locale="en-US", phone=False) -> a Page in its own browser context (its own cookies)."""
    contexts = []

    def make(locale: str = "en-US", phone: bool = False):
        viewport = {"width": 390, "height": 844} if phone else {"width": 1360, "height": 900}
        context = browser.new_context(base_url=live_server.url, locale=locale, viewport=viewport,
                                      extra_http_headers={"Accept-Language": locale})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
        return page

    yield make
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, login: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(login)
    page.locator("#id_password").fill(password)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()


def make_png(width: int = 480, height: int = 300) -> bytes:
    """A real PNG (a blue gradient with a red bar, like a screenshot of an error) for evidence uploads."""
    import struct
    import zlib

    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if height // 3 < y < height // 3 + 40 and width // 8 < x < width * 7 // 8:
                row += bytes((207, 34, 46))
            else:
                row += bytes((30 + x * 60 // width, 90 + y * 80 // height, 200))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


#: the languages pages are tested in (Django code: browser locale) and the widths (desktop, a 390 px phone)
LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}
WIDTHS = (1280, 390)


@pytest.fixture
def at(browser, live_server):
    """at(language, width) -> a Page in a browser context of its own at that width, in that language."""
    contexts = []

    def make(language: str, width: int):
        locale = LOCALES[language]
        context = browser.new_context(base_url=live_server.url, locale=locale,
                                      viewport={"width": width, "height": 900 if width > 500 else 844},
                                      extra_http_headers={"Accept-Language": locale})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield make
    for context in contexts:
        context.close()
