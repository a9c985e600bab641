"""End to end in headless Chromium against the live server: the back office as staff use it."""
from __future__ import annotations

import pytest

from tests.browser import *  # noqa: F401,F403
from tests.browser import admin_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_shows_admin(browser_page, django_user_model, shots):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    admin_login(browser_page, "boss", "pw-boss-123")
    shots(browser_page, "admin index")
    assert "Site administration" in browser_page.inner_text("body") or "GreenLight" in browser_page.title()
