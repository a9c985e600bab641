"""Status policy: PW open statuses come from the flag (replacing the list), SF wins on status through a
staff-edited mapping seeded with SF's defaults, and closed SF statuses close the work order."""
import pytest

from sync.models import StatusMapping
from sync.policies.flags import read_flags, set_flag
from sync.policies.status import (
    DEFAULT_STATUS_MAPPINGS,
    StatusUpdate,
    is_closed_sf_category,
    is_open,
    load_status_map,
    pw_status_for_sf,
    seed_status_mappings,
    sf_status_is_closed,
    status_update_for,
)

pytestmark = pytest.mark.django_db


def test_the_migration_seeds_sf_default_statuses():
    rows = {m.sf_status: m for m in StatusMapping.objects.all()}
    assert len(rows) == 15
    assert rows["On Site"].sf_code == "06_ONS" and not rows["On Site"].is_closed
    closed = {name for name, m in rows.items() if m.is_closed}
    assert closed == {"Completed", "Invoiced", "Paid in Full", "Job Closed", "Cancelled"}
    assert all(m.pw_status == m.sf_status for m in rows.values())


def test_seeding_again_creates_nothing_and_keeps_staff_edits():
    StatusMapping.objects.filter(sf_status="Job Closed").update(pw_status="Closed")
    StatusMapping.objects.filter(sf_code="05_OTW").update(sf_status="En Route")  # renamed in SF
    assert seed_status_mappings(StatusMapping) == 0
    assert StatusMapping.objects.count() == len(DEFAULT_STATUS_MAPPINGS)
    assert StatusMapping.objects.get(sf_status="Job Closed").pw_status == "Closed"


@pytest.mark.parametrize("status,expected", [
    ("Scheduled", True), ("  scheduled outside SF ", True), ("WO Received", True),
    ("Awaiting   Parts", True), ("Completed", False), ("", False), (None, False), ("Closed", False),
])
def test_open_statuses_default_to_the_fourteen_production_values(status, expected):
    assert is_open(status, read_flags()) is expected


def test_the_open_status_setting_replaces_the_list():
    set_flag("PW_OPEN_STATUSES", "Open, In Progress", reason="customer's list")
    flags = read_flags()
    assert is_open("in progress", flags) and is_open("OPEN", flags)
    assert not is_open("scheduled", flags)


def test_sf_status_maps_to_itself_unless_staff_change_it(django_user_model):
    assert pw_status_for_sf("Completed") == "Completed"
    assert pw_status_for_sf("some custom status") == "some custom status"
    staff = django_user_model.objects.create_user("ops")
    mapping = StatusMapping.objects.get(sf_status="Job Closed")
    mapping.pw_status = "Closed"
    mapping._history_user = staff
    mapping._change_reason = "PW uses Closed"
    mapping.save()
    assert pw_status_for_sf("job closed") == "Closed"  # read fresh, matched case-insensitively
    change = StatusMapping.history.filter(sf_status="Job Closed").latest("history_date")
    assert (change.history_user, change.history_change_reason, change.pw_status) == (
        staff, "PW uses Closed", "Closed")
    mapping.pw_status = "Job Closed"
    mapping._change_reason = "back to SF's name"
    mapping.save()
    latest = StatusMapping.history.filter(sf_status="Job Closed").latest("history_date")
    assert (latest.prev_record.pw_status, latest.pw_status) == ("Closed", "Job Closed")


def test_a_status_renamed_in_sf_is_found_by_its_code():
    assert pw_status_for_sf("En Route", code="05_OTW") == "On The Way"
    assert pw_status_for_sf("En Route") == "En Route"


@pytest.mark.parametrize("category,expected", [
    ("CLOSED", True), ("cancelled", True), ("Canceled", True), ("Completed", True), ("Invoiced", True),
    ("Paid in Full", True), ("job closed", True), ("OPEN_ACTIVE", False), ("", False), (None, False),
])
def test_closed_categories(category, expected):
    assert is_closed_sf_category(category) is expected


def test_closed_comes_from_the_mapping_then_the_category():
    assert sf_status_is_closed("Invoiced")
    assert not sf_status_is_closed("On Site", category="CLOSED")  # the mapped row decides
    assert sf_status_is_closed("Archived", category="CLOSED")  # unmapped: the category decides
    assert not sf_status_is_closed("Waiting on owner", category="OPEN_ACTIVE")


def test_sf_wins_only_when_the_status_differs():
    flags = read_flags()
    status_map = load_status_map()
    assert status_update_for("scheduled", "Scheduled", flags, status_map=status_map) is None
    assert status_update_for("Scheduled", "", flags, status_map=status_map) is None
    assert status_update_for("Scheduled", "On Site", flags, code="06_ONS", category="OPEN_ACTIVE",
                             status_map=status_map) == StatusUpdate("On Site", closed=False,
                                                                    close_work_order=False)
    assert status_update_for("On Site", "Completed", flags, status_map=status_map) == StatusUpdate(
        "Completed", closed=True, close_work_order=False)


def test_closing_the_work_order_follows_the_setting():
    set_flag("PW_CLOSE_ON_SF_CLOSED", "true", reason="close in PW too")
    update = status_update_for("Started", "Cancelled", read_flags())
    assert update == StatusUpdate("Cancelled", closed=True, close_work_order=True)
    assert not is_open(update.pw_status, read_flags())
