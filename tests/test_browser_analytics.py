"""The analytics screens in headless Chromium: the chart is drawn (an SVG with lines or bars) and redrawn
when staff pick another date range. Screenshots under test-artifacts/<test name>/."""
from __future__ import annotations

import pytest

from sync.admin.groups import VIEWERS
from tests.admin_support import PASSWORD, staff_user
from tests.analytics_data import seed_history
from tests.browser import *  # noqa: F403
from tests.browser import admin_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_charts_draw_and_follow_the_date_range(browser_page, django_user_model, shots):
    seed_history()
    staff_user(django_user_model, "vera", VIEWERS)
    page = browser_page
    admin_login(page, "vera", PASSWORD)
    page.click("text=Open work orders per portfolio")
    chart = page.locator("#gl-chart svg")
    assert chart.count() == 1 and page.locator("#gl-chart svg polyline").count() >= 2
    shots(page, "open per portfolio 30 days")
    before = chart.inner_html()
    assert "last 30 days" in chart.get_attribute("aria-label")
    page.click("#gl-range a[data-days='365']")
    page.wait_for_url("**days=365")
    shots(page, "open per portfolio 365 days")
    after = page.locator("#gl-chart svg").inner_html()
    assert after != before and "last 365 days" in page.locator("#gl-chart svg").get_attribute("aria-label")
    # 365 days reach work order 4, open in portfolio 20 from 200 to 100 days ago.
    assert page.locator("#gl-chart svg polyline").count() >= 2

    page.click("#gl-screens >> text=Time in status")
    thirty = page.locator("#gl-chart svg rect.bar").count()
    assert thirty >= 2
    page.click("#gl-range a[data-days='90']")
    page.wait_for_url("**days=90")
    shots(page, "time in status 90 days")
    # 90 days add work order 1's stays, among them a status the last 30 days had none of (Completed).
    assert page.locator("#gl-chart svg rect.bar").count() > thirty
    assert "Completed" in page.inner_text("#gl-by-status")
