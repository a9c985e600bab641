"""Headless Chromium for end-to-end admin tests: Debian's chromium driven by Playwright.

The browser comes from the system package (`make browser`); Playwright never downloads one. Each test
gets a fresh profile directory, and `shot()` saves screenshots under test-artifacts/<test name>/.
Import the fixtures into a test module with ``from tests.browser import *``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

__all__ = ["browser_page", "admin_login", "Shots", "shots"]


@pytest.fixture
def browser_page(live_server, transactional_db, monkeypatch):
    """A Playwright page in a fresh Chromium profile, pointed at the live server."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told it is safe (the test, not a coroutine, makes them). The driver is
    # started per test, after the database is ready, so no other test runs beside its loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    profile = tempfile.mkdtemp(prefix="gl-chromium-")
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=live_server.url,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(15_000)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


class Shots:
    """Numbered screenshots of one test, kept as artifacts."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, page, label: str) -> Path:
        self.count += 1
        slug = re.sub(r"[^\w.-]+", "_", label)
        path = self.dir / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)


def admin_login(page, username: str, password: str) -> None:
    """Log in through the admin login form, as a person would."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    if "/admin/login/" in page.url:
        raise AssertionError(f"login as {username} failed: {page.inner_text('body')[:300]}")
