"""Feature flags screen: every flag with its value, changes only with a reason and only by operators,
strict values, and the history of who changed what, when and why."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from sync.models import FeatureFlag
from sync.policies.flags import read_flags
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages

pytestmark = pytest.mark.django_db
FLAGS = reverse("admin:sync_featureflag_changelist")
HISTORY = reverse("admin:sync_featureflag_allhistory")


def set_url(name):
    return reverse("admin:sync_featureflag_set", args=[name])


def test_flags_page_lists_every_flag_with_its_value(client, viewer):
    page = client_for(client, viewer).get(FLAGS)
    assert page.status_code == 200
    names = [row["name"] for row in page.context["rows"]]
    assert names[:2] == ["DRY_RUN", "SAFE_MODE"] and "PW_OPEN_STATUSES" in names
    dry = page.context["rows"][0]
    assert dry["effective"] == "true" and dry["is_default"]
    assert "operators only" in page.content.decode()
    assert set_url("DRY_RUN") not in page.content.decode()


def test_operator_flips_dry_run_with_a_reason_and_it_is_in_the_history(client, operator):
    c = client_for(client, operator)
    assert c.get(set_url("DRY_RUN")).status_code == 200
    done = c.post(set_url("DRY_RUN"), {"value": "false", "reason": "go-live approved by ops"}, follow=True)
    assert any("DRY_RUN is now false" in m for m in page_messages(done))
    assert read_flags().dry_run is False
    change = FeatureFlag.history.get(name="DRY_RUN")
    assert (change.history_user, change.history_change_reason, change.value) == (
        operator, "go-live approved by ops", "false")
    assert change.previous_value is None
    entry = LogEntry.objects.get(object_repr__startswith="DRY_RUN")
    assert entry.user == operator and "true → false. Reason: go-live approved by ops" in entry.change_message

    c.post(set_url("DRY_RUN"), {"value": "true", "reason": "incident 42: stop writes"})
    history = c.get(HISTORY, {"flag": "DRY_RUN"})
    rows = list(history.context["page"].object_list)
    assert [(h.previous_value, h.value, h.history_change_reason) for h in rows] == [
        ("false", "true", "incident 42: stop writes"), (None, "false", "go-live approved by ops")]
    assert "incident 42: stop writes" in history.content.decode()
    assert "incident 42" in c.get(set_url("DRY_RUN")).content.decode()  # the flag's own history


def test_a_missing_reason_is_refused_and_nothing_changes(client, operator):
    c = client_for(client, operator)
    page = c.post(set_url("SAFE_MODE"), {"value": "false", "reason": "   "})
    assert page.status_code == 200
    body = page.content.decode()
    assert "A reason is required" in body and "Nothing was changed" in body
    assert read_flags().safe_mode is True and not FeatureFlag.history.exists()


def test_an_invalid_value_is_refused_with_the_flags_message(client, operator):
    c = client_for(client, operator)
    page = c.post(set_url("DEDUP_CONFIDENCE"), {"value": "1.5", "reason": "try"})
    assert "must be between 0 and 1" in page.content.decode()
    page = c.post(set_url("DRY_RUN"), {"value": "yes", "reason": "try"})
    assert "Select a valid choice" in page.content.decode()
    assert not FeatureFlag.objects.exists()


def test_open_status_list_is_edited_like_any_flag(client, operator):
    c = client_for(client, operator)
    c.post(set_url("PW_OPEN_STATUSES"), {"value": "Open, Scheduled ,awaiting parts", "reason": "trim list"})
    assert read_flags().pw_open_statuses == frozenset({"open", "scheduled", "awaiting parts"})
    assert FeatureFlag.objects.get(name="PW_OPEN_STATUSES").value == "open,scheduled,awaiting parts"


def test_legacy_alias_redirects_and_unknown_flag_is_404(client, operator):
    c = client_for(client, operator)
    assert c.get(set_url("FEATURE_FLAG_PW_WO_VERIFY_STRICT"))["Location"] == set_url("PW_WO_VERIFY_STRICT")
    assert c.get(set_url("NOPE")).status_code == 404


@pytest.mark.parametrize("who", ["viewer", "mapping_editor"])
def test_only_operators_may_change_flags(client, who, request):
    c = client_for(client, request.getfixturevalue(who))
    assert c.get(set_url("DRY_RUN")).status_code == 403
    assert c.post(set_url("DRY_RUN"), {"value": "false", "reason": "x"}).status_code == 403
    assert read_flags().dry_run is True
    assert c.get(HISTORY).status_code == 200  # every group may read the history


def test_unchanged_value_writes_no_history(client, operator):
    c = client_for(client, operator)
    c.post(set_url("SAFE_MODE"), {"value": "true", "reason": "pin it explicitly"})
    done = c.post(set_url("SAFE_MODE"), {"value": "true", "reason": "again"}, follow=True)
    assert any("already true" in m for m in page_messages(done))
    assert FeatureFlag.history.filter(name="SAFE_MODE").count() == 1


def test_admin_cannot_add_or_delete_flag_rows(client, superuser):
    c = client_for(client, superuser)
    assert c.post("/admin/sync/featureflag/add/", {"name": "DRY_RUN", "value": "false"}).status_code == 404
    assert not FeatureFlag.objects.exists()
    c.post(set_url("DRY_RUN"), {"value": "false", "reason": "test"})
    flag = FeatureFlag.objects.get(name="DRY_RUN")
    assert c.get(reverse("admin:sync_featureflag_change", args=[flag.pk]))["Location"] == set_url("DRY_RUN")
