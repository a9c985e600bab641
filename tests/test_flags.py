"""Feature flags: stored in the database, read fresh at every call, parsed strictly, audited, and safe
mode trips on by itself after repeated push failures."""
import json
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from sync.models import FeatureFlag, PushFailureStreak
from sync.policies.flags import (
    FLAGS,
    FlagError,
    Flags,
    canonical_name,
    flag_table,
    flags_with,
    read_flags,
    record_push_outcome,
    set_flag,
)
from tests.policy_helpers import child_env

pytestmark = pytest.mark.django_db

R26_OPEN = {
    "unscheduled", "scheduled", "scheduled outside sf", "dispatched", "delayed", "on the way", "on site",
    "started", "paused", "resumed", "partially completed", "open", "wo received", "awaiting parts",
}


def test_defaults_apply_when_nothing_is_stored():
    flags = read_flags()
    assert flags == Flags.defaults()
    assert flags.dry_run is True
    assert flags.enable_service_fusion is True
    assert flags.safe_mode is True
    assert flags.pw_wo_verify_strict is False
    assert flags.pw_open_statuses == R26_OPEN
    assert (flags.dedup_confidence, flags.dedup_review_threshold) == (0.95, 0.8)
    assert (flags.dedup_window_days, flags.dedup_description_similarity) == (7, 0.8)
    assert flags.tenant_push_mode == "contact"
    assert flags.pw_close_on_sf_closed is False
    assert flags.sf_default_category == "Maintenance"
    assert flags.custom_field_labels() == {
        "work_order_id": "propertyWareId", "portfolio_id": "portfolioId", "building_id": "buildingId",
        "unit_id": "unitId",
    }
    assert flags.circuit_breaker_failures == 5


def test_registry_and_dataclass_name_the_same_flags():
    import dataclasses

    assert [f.name for f in dataclasses.fields(Flags)] == [s.name.lower() for s in FLAGS]
    assert all(s.description for s in FLAGS)


def test_a_change_is_seen_by_the_next_read_without_restart(django_user_model):
    staff = django_user_model.objects.create_user("ops")
    assert read_flags().dry_run is True
    set_flag("DRY_RUN", "False", user=staff, reason="go live")
    assert read_flags().dry_run is False
    set_flag("dry_run", True, user=staff, reason="pause writes")
    assert read_flags().dry_run is True


@pytest.mark.django_db(transaction=True)
def test_a_change_made_by_another_process_is_seen_at_once():
    from django.db import connection

    if connection.vendor != "postgresql":
        # The in-memory SQLite test database cannot be opened by another process: use a second thread's
        # connection instead, which is what another web or worker thread would hold.
        import threading

        def other():
            set_flag("SAFE_MODE", "false", reason="other connection")
            connection.close()

        assert read_flags().safe_mode is True
        t = threading.Thread(target=other)
        t.start()
        t.join()
    else:
        assert read_flags().safe_mode is True
        code = ("import django; django.setup(); from sync.policies.flags import set_flag; "
                "set_flag('SAFE_MODE', 'false', reason='other process')")
        subprocess.run([sys.executable, "-c", code], env=child_env(), check=True)
    assert read_flags().safe_mode is False


@pytest.mark.parametrize("raw", ["yes", "1", "on", "", "truee", "t", "0"])
def test_booleans_accept_only_true_or_false(raw):
    with pytest.raises(FlagError) as err:
        set_flag("DRY_RUN", raw, reason="x")
    assert "DRY_RUN" in str(err.value)
    assert not FeatureFlag.objects.exists()


@pytest.mark.parametrize("raw,expected", [("TRUE", True), (" false ", False), ("True", True)])
def test_booleans_are_case_insensitive(raw, expected):
    assert set_flag("ENABLE_SERVICE_FUSION", raw, reason="x") is expected
    assert FeatureFlag.objects.get(name="ENABLE_SERVICE_FUSION").value == ("true" if expected else "false")


@pytest.mark.parametrize("name,raw,fragment", [
    ("DEDUP_CONFIDENCE", "1.5", "between 0 and 1"),
    ("DEDUP_CONFIDENCE", "high", "between 0 and 1"),
    ("DEDUP_WINDOW_DAYS", "-1", "at least 1"),
    ("DEDUP_WINDOW_DAYS", "7.5", "whole number"),
    ("CIRCUIT_BREAKER_FAILURES", "0", "at least 1"),
    ("TENANT_PUSH_MODE", "tenant", "contact, child_customer"),
    ("PW_OPEN_STATUSES", " , ", "at least one"),
    ("SF_JOB_CF_WORK_ORDER_ID", "  ", "must not be empty"),
])
def test_bad_values_are_refused_naming_the_flag(name, raw, fragment):
    with pytest.raises(FlagError) as err:
        set_flag(name, raw, reason="x")
    assert str(err.value).startswith(f"{name}: ")
    assert fragment in str(err.value)


def test_a_bad_stored_value_fails_the_read_naming_the_flag():
    FeatureFlag.objects.create(name="SAFE_MODE", value="yes")  # e.g. written by hand in a shell
    with pytest.raises(FlagError) as err:
        read_flags()
    assert err.value.flag == "SAFE_MODE"


def test_a_retired_flag_left_in_the_table_is_ignored():
    # PW_LOOKBACK_DAYS was retired: work-order pulls follow their cursor instead of re-reading a window.
    FeatureFlag.objects.create(name="PW_LOOKBACK_DAYS", value="30")
    assert read_flags() == Flags.defaults()
    with pytest.raises(FlagError) as err:
        set_flag("PW_LOOKBACK_DAYS", "7", reason="x")
    assert err.value.unknown


def test_unknown_flags_are_refused():
    with pytest.raises(FlagError) as err:
        set_flag("ENABLE_DEDUPLICATION", "false", reason="x")
    assert err.value.unknown and "ENABLE_DEDUPLICATION" in str(err.value)


def test_a_reason_is_required():
    for reason in ("", "   "):
        with pytest.raises(FlagError, match="reason"):
            set_flag("DRY_RUN", "false", reason=reason)
    assert read_flags().dry_run is True


def test_legacy_aliases_are_accepted_and_stored_under_the_canonical_name():
    assert canonical_name("feature_flag_pw_wo_verify_strict") == "PW_WO_VERIFY_STRICT"
    set_flag("FEATURE_FLAG_PW_WO_VERIFY_STRICT", "true", reason="strict verification")
    set_flag("FEATURE_PW_OPEN_STATUSES", "Open, Partially  Completed,AWAITING PARTS,open", reason="legacy")
    stored = dict(FeatureFlag.objects.values_list("name", "value"))
    assert stored == {"PW_WO_VERIFY_STRICT": "true",
                      "PW_OPEN_STATUSES": "open,partially completed,awaiting parts"}
    flags = read_flags()
    assert flags.pw_wo_verify_strict is True
    # The setting replaces the list (R26): "scheduled" is no longer open.
    assert flags.pw_open_statuses == {"open", "partially completed", "awaiting parts"}


def test_a_row_stored_under_a_legacy_name_is_read_and_the_canonical_one_wins():
    FeatureFlag.objects.create(name="FEATURE_PW_OPEN_STATUSES", value="open")
    assert read_flags().pw_open_statuses == {"open"}
    FeatureFlag.objects.create(name="PW_OPEN_STATUSES", value="open,started")
    assert read_flags().pw_open_statuses == {"open", "started"}


def test_every_change_keeps_who_when_why_old_and_new(django_user_model):
    staff = django_user_model.objects.create_user("ops")
    set_flag("DEDUP_WINDOW_DAYS", "10", user=staff, reason="longer window after review")
    set_flag("DEDUP_WINDOW_DAYS", 14, user=None, reason="customer asked")
    set_flag("DEDUP_WINDOW_DAYS", "14", user=staff, reason="same value again")  # no change, no row
    history = FeatureFlag.history.filter(name="DEDUP_WINDOW_DAYS").order_by("history_date", "history_id")
    assert [(h.previous_value, h.value, h.history_change_reason, h.history_user) for h in history] == [
        (None, "10", "longer window after review", staff),
        ("10", "14", "customer asked", None),
    ]
    assert all(h.history_date is not None for h in history)


def test_admin_edits_are_parsed_and_audited_the_same_way(django_user_model):
    flag = FeatureFlag(name="pw_close_on_sf_closed", value="maybe")
    with pytest.raises(ValidationError) as err:
        flag.full_clean()
    assert "PW_CLOSE_ON_SF_CLOSED" in str(err.value.message_dict["value"])
    flag.value = " TRUE"
    flag.full_clean()
    assert (flag.name, flag.value) == ("PW_CLOSE_ON_SF_CLOSED", "true")
    flag._change_reason = "admin edit"
    flag.save()
    assert FeatureFlag.history.get(name="PW_CLOSE_ON_SF_CLOSED").history_change_reason == "admin edit"
    with pytest.raises(ValidationError) as err:
        FeatureFlag(name="NO_SUCH_FLAG", value="x").full_clean()
    assert "name" in err.value.message_dict


def test_safe_mode_trips_after_n_consecutive_push_failures():
    set_flag("SAFE_MODE", "false", reason="trusted pushes")
    set_flag("SAFE_MODE_TRIP_AFTER", "3", reason="trip early")
    assert record_push_outcome(False, detail="SF 500") is False
    assert record_push_outcome(False) is False
    assert record_push_outcome(True) is False  # a success breaks the streak
    assert PushFailureStreak.objects.get().count == 0
    assert [record_push_outcome(False, detail=f"SF 503 #{i}") for i in range(3)] == [False, False, True]
    assert read_flags().safe_mode is True
    change = FeatureFlag.history.filter(name="SAFE_MODE").latest("history_date")
    assert change.history_user is None and change.previous_value == "false" and change.value == "true"
    assert change.history_change_reason.startswith("automatic: 3 consecutive push failures")
    assert "SF 503 #2" in change.history_change_reason
    # Already on: further failures change nothing.
    before = FeatureFlag.history.count()
    for _ in range(4):
        assert record_push_outcome(False) is False
    assert FeatureFlag.history.count() == before


def test_safe_mode_never_trips_when_the_threshold_is_zero():
    set_flag("SAFE_MODE", "false", reason="trusted pushes")
    set_flag("SAFE_MODE_TRIP_AFTER", "0", reason="never trip")
    assert not any(record_push_outcome(False) for _ in range(20))
    assert read_flags().safe_mode is False


def test_values_are_recorded_as_json_and_overrides_are_validated():
    flags = flags_with(read_flags(), dry_run=False, dedup_window_days=3)
    assert (flags.dry_run, flags.dedup_window_days) == (False, 3)
    data = json.loads(json.dumps(flags.as_dict()))
    assert data["DRY_RUN"] is False and data["PW_OPEN_STATUSES"] == sorted(R26_OPEN)
    with pytest.raises(FlagError):
        flags_with(flags, dry_run="maybe")


def test_flag_table_lists_every_flag_with_its_value():
    set_flag("SF_DEFAULT_CATEGORY", "General", reason="customer preference")
    table = {row["name"]: row for row in flag_table()}
    assert set(table) == {s.name for s in FLAGS}
    assert table["SF_DEFAULT_CATEGORY"]["value"] == "General"
    assert table["DRY_RUN"]["value"] is None and table["DRY_RUN"]["default"] == "true"
    assert table["PW_OPEN_STATUSES"]["aliases"] == ["FEATURE_PW_OPEN_STATUSES"]


def test_the_flags_command_lists_and_sets_with_a_reason():
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("flags", "dry_run", "FALSE", "--reason", "go live", stdout=out)
    assert out.getvalue().strip() == "DRY_RUN set to False"
    assert FeatureFlag.history.get(name="DRY_RUN").history_change_reason == "go live"
    out = StringIO()
    call_command("flags", stdout=out)
    lines = out.getvalue().splitlines()
    assert "DRY_RUN = false" in lines and "SAFE_MODE = true (default)" in lines
    assert len(lines) == len(FLAGS)
    with pytest.raises(CommandError, match="reason"):
        call_command("flags", "SAFE_MODE", "false")
    with pytest.raises(CommandError, match="SAFE_MODE: expected true or false"):
        call_command("flags", "SAFE_MODE", "off", "--reason", "x")
