"""In headless Chromium: the dashboard's coverage chart with its 95 % target line, and accepting every
suggestion above a threshold with a reason."""
from __future__ import annotations

import pytest

from sync.admin.groups import MAPPING_EDITORS
from tests.admin_support import PASSWORD, seed_warehouse, staff_user
from tests.browser import *  # noqa: F403
from tests.browser import admin_login
from warehouse.models import CustomerMapping

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coverage_chart_and_accept_all(browser_page, django_user_model, shots):
    seed_warehouse()
    staff_user(django_user_model, "mia", MAPPING_EDITORS)
    page = browser_page
    admin_login(page, "mia", PASSWORD)
    page.goto("/admin/")
    page.wait_for_selector("#gl-coverage-chart svg")
    shots(page, "coverage on the dashboard")
    assert page.locator("#gl-coverage-chart svg line.gl-target").count() == 1
    assert "target 95 %" in page.inner_html("#gl-coverage-chart")
    assert "33.3 %" in page.inner_text("#gl-coverage-buildings")  # 1 of 3 active buildings
    assert "Building 102" in page.inner_text("#gl-blockers")
    form = page.locator("#gl-accept-all")
    form.locator("input[name=threshold]").fill("95")
    form.locator("input[name=reason]").fill("addresses checked against the lease files")
    form.locator("button", has_text="Accept suggestions").click()
    page.wait_for_selector(".messagelist")
    shots(page, "suggestions accepted")
    assert "1 building(s) mapped" in page.inner_text(".messagelist")
    assert "66.7 %" in page.inner_text("#gl-coverage-buildings")
    row = CustomerMapping.objects.get(pw_building_id=102)
    assert (row.status, row.sf_customer_id) == ("mapped", 5002)
    assert row.history.latest().history_change_reason.endswith("addresses checked against the lease files")
