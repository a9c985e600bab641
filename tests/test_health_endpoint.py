"""/health/ answers load balancers: 200 when the database, the django-q2 cluster and the sync's last
success are fine, 503 with the failing check named otherwise."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from django_q.cluster import Cluster
from django_q.models import Schedule
from django_q.status import Stat

from sync.observability.health import check_last_run

HEALTH_TOKEN = "health-test-token-0123"


@pytest.fixture
def client(settings):
    """A caller holding HEALTH_TOKEN: these tests read the checks' details (anonymous callers may not)."""
    settings.HEALTH_TOKEN = HEALTH_TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}")


def wait_for(condition, what: str, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.django_db
def test_database_check_passes(client):
    response = client.get("/health/?only=database")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_unknown_check_name_is_a_client_error(client):
    response = client.get("/health/?only=database,disk")
    assert response.status_code == 400
    assert "disk" in response.json()["error"]


@pytest.mark.django_db
def test_process_local_cache_reports_workers_unknown_without_failing(client):
    response = client.get("/health/?only=workers")
    assert response.status_code == 200
    workers = response.json()["checks"]["workers"]
    assert workers["status"] == "unknown"
    assert "CACHE_URL" in workers["detail"]


@pytest.mark.django_db(transaction=True)
def test_workers_check_follows_a_real_cluster(client, tmp_path):
    shared = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(tmp_path / "cache")}}
    with override_settings(CACHES=shared):
        down = client.get("/health/?only=workers")
        assert down.status_code == 503
        assert down.json()["checks"]["workers"]["error"] == "no django-q cluster is running"

        cluster = Cluster()
        cluster.start()
        try:
            wait_for(lambda: Stat.get_all(), "the cluster's first heartbeat")
            up = client.get("/health/?only=workers")
            assert up.status_code == 200, up.json()
            (entry,) = up.json()["checks"]["workers"]["clusters"]
            assert entry["cluster_id"] == str(cluster.cluster_id)
            assert entry["workers"] >= 1
        finally:
            cluster.stop()
        caches["default"].clear()  # the stopped cluster's last heartbeat would linger for its 3 s lifetime
        assert client.get("/health/?only=workers").status_code == 503


def _no_sync_schedule() -> None:
    # The sync's own schedule is seeded by a data migration; these tests set their own.
    Schedule.objects.filter(func__startswith="sync.").delete()


def _schedule(cron: str = "*/30 12-23 * * 1-5") -> Schedule:
    _no_sync_schedule()
    return Schedule.objects.create(name="sync (test)", func="sync.engine.tasks.scheduled_sync",
                                   schedule_type=Schedule.CRON, cron=cron, repeats=-1,
                                   next_run=datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.django_db
def test_last_run_is_not_checked_without_a_schedule_or_age_limit():
    _no_sync_schedule()
    result = check_last_run()
    assert result["status"] == "ok"
    assert result["rule"].startswith("not checked")


@pytest.mark.django_db
def test_new_install_with_a_schedule_warns_but_stays_up(client):
    _schedule()
    result = check_last_run(now=datetime(2025, 8, 20, 15, 5, tzinfo=UTC))
    assert result["status"] == "warn"
    assert result["detail"] == "no successful sync yet"
    # three missed slots before 15:05 on a Wednesday: 15:00, 14:30, 14:00 -> the oldest allowed is 13:30
    assert result["deadline"] == "2025-08-20T13:30:00+00:00"


@pytest.mark.django_db
@override_settings(HEALTH_MISSED_RUNS=2)
def test_schedule_gaps_overnight_do_not_count_as_missed_runs():
    _schedule()
    # Saturday morning: the last slots were Friday 23:30, 23:00, 22:30
    result = check_last_run(now=datetime(2025, 8, 23, 9, 0, tzinfo=UTC))
    assert result["deadline"] == "2025-08-22T22:30:00+00:00"


@pytest.mark.django_db
@override_settings(HEALTH_MAX_RUN_AGE=3600)
def test_age_limit_applies_without_a_schedule():
    _no_sync_schedule()
    result = check_last_run(now=datetime(2025, 8, 20, 15, 5, tzinfo=UTC))
    assert result["status"] == "warn"
    assert result["rule"] == "a success within 3600 s"


def _run(status: str, started: datetime, seconds: float = 60):
    from sync.models import SyncRun

    return SyncRun.objects.create(status=status, started_at=started,
                                  finished_at=started + timedelta(seconds=seconds))


@pytest.mark.django_db
def test_recent_success_within_the_allowed_slots_is_healthy():
    _schedule()
    _run("succeeded", datetime(2025, 8, 20, 14, 0, tzinfo=UTC))
    _run("failed", datetime(2025, 8, 20, 14, 30, tzinfo=UTC))
    result = check_last_run(now=datetime(2025, 8, 20, 15, 5, tzinfo=UTC))
    assert result["status"] == "ok"
    assert result["last_success_at"] == "2025-08-20T14:01:00+00:00"
    assert result["failed_or_running_since"] == 1


@pytest.mark.django_db
def test_three_missed_slots_fail_the_check_and_the_endpoint(client):
    from django.utils import timezone

    _schedule("*/30 * * * *")
    now = timezone.now()
    _run("succeeded", now - timedelta(hours=3))
    for hours in (2, 1.5, 1, 0.5):
        _run("failed", now - timedelta(hours=hours))
    result = check_last_run()
    assert result["status"] == "fail"
    response = client.get("/health/?only=database,last_run")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["last_run"]["status"] == "fail"


@pytest.mark.django_db
def test_repeated_failures_on_a_new_install_fail():
    _schedule()
    for minute in (0, 30):
        _run("failed", datetime(2025, 8, 20, 13, minute, tzinfo=UTC))
        _run("failed", datetime(2025, 8, 20, 14, minute, tzinfo=UTC))
    result = check_last_run(now=datetime(2025, 8, 20, 15, 5, tzinfo=UTC))
    assert result["status"] == "fail" and result["detail"] == "no successful sync yet"


@pytest.mark.django_db
def test_a_schedule_switched_off_by_flag_does_not_count_missed_runs():
    from sync.policies.flags import set_flag

    _schedule()
    set_flag("SYNC_SCHEDULE_ENABLED", False, reason="maintenance window")
    result = check_last_run(now=datetime(2025, 8, 20, 15, 5, tzinfo=UTC))
    assert result["status"] == "ok" and result["rule"].startswith("not checked")
