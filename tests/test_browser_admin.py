"""End to end in headless Chromium against the live server: the back office as staff use it.
Screenshots of every step are kept under test-artifacts/<test name>/."""
from __future__ import annotations

import pytest

from sync.admin.groups import MAPPING_EDITORS, OPERATORS
from sync.models import DuplicateCandidate, FeatureFlag, UnitCorrection
from sync.policies.flags import read_flags
from sync.policies.units import held_work_order_ids
from tests.admin_support import PASSWORD, seed_review_queues, seed_runs, seed_warehouse, staff_user
from tests.browser import *  # noqa: F403
from tests.browser import admin_login
from warehouse.models import CustomerMapping, FactWorkOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "entity_type,pw_portfolio_id,pw_building_id,sf_customer_id,status"


def open_as(page, django_user_model, username: str, group: str, path: str, *seeders) -> None:
    """Load the data, create the staff user, log in through the form and open ``path``."""
    for seed in seeders:
        seed()
    staff_user(django_user_model, username, group)
    admin_login(page, username, PASSWORD)
    page.goto(path)


def upload_csv(page, path, rows: list[str]) -> None:
    """Choose a CSV as Excel saves it (byte-order mark, CRLF) on the import form and submit it."""
    path.write_bytes(("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n").encode())
    page.set_input_files("#id_import_file", str(path))
    page.select_option("#id_format", label="csv")
    page.click("input[type=submit]")


def mappings():
    return sorted(CustomerMapping.objects.values_list("entity_type", "pw_building_id", "sf_customer_id",
                                                      "status"), key=str)


def test_login_and_dashboard(browser_page, django_user_model, shots):
    seed_warehouse()
    seed_runs()
    staff_user(django_user_model, "otto", OPERATORS)
    page = browser_page
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    shots(page, "login page")
    admin_login(page, "otto", PASSWORD)
    shots(page, "dashboard")
    assert page.title().startswith("Dashboard")
    problems = page.inner_text("#gl-problems")
    assert "Unmapped buildings" in problems and "Dead letters" in problems
    assert page.locator("#gl-chart svg").count() == 1
    assert "getSFJobs" in page.inner_text("#gl-runs")
    assert page.locator("#gl-sync-buttons button", has_text="Dry run now").count() == 1


def test_import_a_mapping_csv_with_one_bad_row(browser_page, django_user_model, shots, tmp_path):
    page = browser_page
    open_as(page, django_user_model, "mia", MAPPING_EDITORS, "/admin/warehouse/customermapping/",
            seed_warehouse)
    before = mappings()
    shots(page, "mappings list")
    page.click("a.import_link")
    upload_csv(page, tmp_path / "mappings.csv",
               ["building,10,102,5002,", "building,20,201,99999,", "portfolio,20,,,"])
    page.wait_for_selector("#gl-invalid-rows")
    shots(page, "preview with the bad row")
    assert "SF customer 99999 is unknown" in page.inner_text("#gl-invalid-rows")
    assert "Nothing has been saved" in page.inner_text("#content")
    assert page.locator("input[name=confirm]").count() == 0
    assert mappings() == before

    upload_csv(page, tmp_path / "mappings-fixed.csv",
               ["building,10,102,5002,", "building,20,201,,create", "portfolio,20,,,"])
    page.wait_for_selector("#gl-preview")
    shots(page, "preview of the corrected file")
    assert mappings() == before  # still nothing saved
    summary = page.inner_text("#gl-import-summary")
    assert "2\nnew" in summary and "1\nchanged" in summary
    page.fill("#id_reason", "owner's corrected sheet")
    page.click("input[name=confirm]")
    page.wait_for_selector(".messagelist")
    shots(page, "imported")
    assert "Import finished: 2 new, 1 changed" in page.inner_text(".messagelist")
    assert CustomerMapping.objects.get(pw_building_id=102).sf_customer_id == 5002
    assert CustomerMapping.objects.get(pw_building_id=201).status == "create"


def test_flip_dry_run_with_a_reason_and_see_it_in_history(browser_page, django_user_model, shots):
    page = browser_page
    open_as(page, django_user_model, "otto", OPERATORS, "/admin/sync/featureflag/")
    shots(page, "flags")
    page.click("#flag-DRY_RUN a.button")
    page.select_option("#id_value", "false")
    page.click("#gl-flag-form input[type=submit]")
    shots(page, "refused without a reason")
    assert "A reason is required" in page.inner_text("#gl-flag-form")
    assert read_flags().dry_run is True and not FeatureFlag.objects.exists()
    page.select_option("#id_value", "false")
    page.fill("#id_reason", "Go-live approved in the ops review")
    page.click("#gl-flag-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    shots(page, "changed")
    assert "DRY_RUN is now false" in page.inner_text(".messagelist")
    assert "false" in page.inner_text("#flag-DRY_RUN")
    assert read_flags().dry_run is False
    page.click("text=History of changes")
    shots(page, "history")
    history = page.inner_text("#gl-flag-history")
    assert "DRY_RUN" in history and "otto" in history and "Go-live approved in the ops review" in history


def test_resolve_a_duplicate(browser_page, django_user_model, shots):
    page = browser_page
    open_as(page, django_user_model, "otto", OPERATORS, "/admin/sync/duplicatecandidate/",
            seed_warehouse, seed_review_queues)
    shots(page, "pending candidates")
    page.click("text=WO 9001")
    page.wait_for_selector("#gl-job")
    shots(page, "candidate beside the job")
    assert "Kitchen sink leaking" in page.inner_text("#gl-work-order")
    assert "Kitchen sink leaking" in page.inner_text("#gl-job")
    page.fill("#id_note", "Same leak; the tenant called twice")
    page.click("button[value=link]")
    page.wait_for_selector(".messagelist")
    shots(page, "linked")
    assert "linked the work order" in page.inner_text(".messagelist")
    candidate = DuplicateCandidate.objects.get(work_order_id=9001)
    assert candidate.state == "linked" and candidate.decided_by.username == "otto"
    assert FactWorkOrder.objects.current().get(work_order_id=9001).sf_job_id == 7001


def test_correct_a_unit_and_see_the_work_order_released(browser_page, django_user_model, shots):
    page = browser_page
    open_as(page, django_user_model, "otto", OPERATORS, "/admin/sync/unitcorrection/",
            seed_warehouse, seed_review_queues)
    shots(page, "held work orders")
    page.click("text=WO 9002")
    page.wait_for_selector("#gl-units")
    shots(page, "units of the building")
    page.check("input[name=unit][value='1012']")
    page.click("#gl-units input[type=submit]")
    assert "A reason is required" in page.inner_text("#gl-units")
    assert UnitCorrection.objects.get().state == "held"
    page.check("input[name=unit][value='1012']")
    page.fill("#id_reason", "Tenant in Apt 2 reported it")
    page.click("#gl-units input[type=submit]")
    page.wait_for_selector("#gl-released")
    shots(page, "corrected and released")
    assert "now goes to unit 1012" in page.inner_text(".messagelist")
    assert "Corrected" in page.inner_text("#gl-state")
    assert "1012" in page.inner_text("#gl-versions")
    assert 9002 not in held_work_order_ids()
    assert FactWorkOrder.objects.current().get(work_order_id=9002).unit_id == 1012


def test_map_unmapped_buildings_with_one_click(browser_page, django_user_model, shots):
    page = browser_page
    open_as(page, django_user_model, "mia", MAPPING_EDITORS, "/admin/warehouse/customermapping/",
            seed_warehouse)
    page.click("a.gl-unmapped-link")
    page.wait_for_selector("#gl-unmapped")
    shots(page, "unmapped buildings")
    row = page.locator("#building-102")
    assert "34 Elm Avenue" in row.inner_text()
    row.locator("button", has_text="Map to this").first.click()
    page.wait_for_selector(".messagelist")
    shots(page, "mapped by suggestion")
    assert "now mapped to 34 Elm Avenue" in page.inner_text(".messagelist")
    page.locator("#building-201 button", has_text="Let the sync create it").click()
    page.wait_for_selector(".messagelist")
    shots(page, "left to the sync")
    assert "the next sync will create its SF customer" in page.inner_text(".messagelist")
    assert CustomerMapping.objects.get(pw_building_id=102).sf_customer_id == 5002
    assert CustomerMapping.objects.get(pw_building_id=201).status == "create"
