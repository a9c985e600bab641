"""The trigger API queues, never runs: 202 with a status URL that goes queued → running → done (or failed)
with the run once a worker has run the task, over real HTTP and django-q2's real worker path."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from sync.engine import queued
from sync.engine.locks import sync_lock
from sync.models import ApiToken, QueuedTask, SyncRun
from tests.queue_support import in_other_thread, work_off_queue

# The worker runs on its own connection, as in production: no wrapping test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = "/api/sync/trigger"


@pytest.fixture
def auth():
    _, token = ApiToken.issue("portal")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def trigger(client, auth, **body):
    return client.post(TRIGGER, json.dumps(body), content_type="application/json", **auth)


def test_the_trigger_queues_and_the_status_url_follows_the_task_to_its_run(client, auth, sims):
    response = trigger(client, auth, dry_run=True, steps=["getPWPortfolios"])
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["queued"] is True and body["state"] == "queued" and body["mode"] == "queue"
    assert "notice" not in body
    assert response["Location"] == body["status_url"]
    assert body["status_url"] == f"http://testserver/api/sync/tasks/{body['task_id']}"
    assert not SyncRun.objects.exists()  # nothing ran in the request

    waiting = client.get(body["status_url"], **auth)
    assert waiting.status_code == 200 and waiting["Retry-After"] == "5"
    assert waiting.json()["state"] == "queued" and waiting.json()["run"] is None

    assert work_off_queue() == [body["task_id"]]
    done = client.get(body["status_url"], **auth)
    assert done.status_code == 200 and not done.has_header("Retry-After")
    status = done.json()
    run = SyncRun.objects.get()
    assert status["state"] == "done", status
    assert status["run_id"] == run.pk == status["run"]["run_id"]
    assert status["run"]["status"] == run.status == "succeeded" and run.trigger == "api" and run.dry_run
    assert [s["name"] for s in status["run"]["steps"]] == ["getPWPortfolios"]
    assert status["run"]["url"] == f"http://testserver{reverse('admin:sync_syncrun_change', args=[run.pk])}"
    assert status["result"] == f"run {run.pk}: succeeded"
    assert status["finished_at"] and status["started_at"]
    # The run page's own progress figures, the same JSON its poller reads.
    progress = status["run"]["progress"]
    assert progress["run_id"] == run.pk and progress["status"] == "succeeded" and not progress["running"]
    row = QueuedTask.objects.get()
    assert row.requested_via == "API token portal" and row.params["steps"] == ["getPWPortfolios"]


def test_mode_now_is_queued_too_and_the_answer_says_so(client, auth, sims):
    response = trigger(client, auth, mode="now", dry_run=True, steps=["getPWPortfolios"])
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["mode"] == "queue" and "mode=now is deprecated" in body["notice"]
    assert not SyncRun.objects.exists()
    work_off_queue()
    assert client.get(body["status_url"], **auth).json()["run"]["status"] == "succeeded"


def test_a_run_refused_by_the_sync_lock_fails_its_task(client, auth):
    body = trigger(client, auth, dry_run=True).json()
    with sync_lock():  # another run holds the lock while a worker takes the task
        in_other_thread(work_off_queue)
    status = client.get(body["status_url"], **auth).json()
    assert status["state"] == "failed" and status["run"]["status"] == "refused"
    assert status["result"].startswith(f"run {status['run_id']}: refused")


def test_a_running_task_shows_running_with_its_run(client, auth):
    body = trigger(client, auth, dry_run=True).json()
    row = QueuedTask.objects.get(task_id=body["task_id"])
    run = SyncRun.objects.create(trigger="api", dry_run=True)
    # What a worker's run_pipeline does, held open at the point where the run has started.
    with queued.tracking(row.pk) as track:
        track.progress({"event": "run_started", "run_id": run.pk})
        status = client.get(body["status_url"], **auth)
        assert status.json()["state"] == "running" and status.json()["run"]["run_id"] == run.pk
        assert status["Retry-After"] == "5"


def test_a_task_killed_in_its_worker_is_failed_by_django_q2s_record(client, auth):
    from django.utils import timezone
    from django_q.models import Task

    body = trigger(client, auth, dry_run=True).json()
    QueuedTask.objects.filter(task_id=body["task_id"]).update(state="running")  # it never updates again
    Task.objects.create(id=body["task_id"], name="sync all steps", func="sync.engine.tasks.run_pipeline",
                        started=timezone.now(), stopped=timezone.now(), success=False,
                        result="Task exceeded maximum timeout value (600 seconds)")
    status = client.get(body["status_url"], **auth).json()
    assert status["state"] == "failed" and "maximum timeout" in status["result"]


@pytest.mark.parametrize("header,message", [
    (None, "an API token is required"),
    ("Bearer glt_not-a-token", "unknown or revoked"),
    ("Basic dXNlcjpwYXNz", "an API token is required"),
])
def test_the_status_needs_a_valid_token(client, auth, header, message):
    body = trigger(client, auth).json()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(body["status_url"], **extra)
    assert response.status_code == 401 and message in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_and_malformed_task_ids_are_refused_clearly(client, auth):
    unknown = client.get("/api/sync/tasks/" + "0" * 32, **auth)
    assert unknown.status_code == 404 and unknown.json()["error"] == f"no queued task has the id {'0' * 32}"
    bad = client.get("/api/sync/tasks/../admin", **auth)
    assert bad.status_code == 404  # not a route at all
    malformed = client.get("/api/sync/tasks/not-a-task-id", **auth)
    assert malformed.status_code == 400
    assert "expected 32 lowercase hexadecimal characters" in malformed.json()["error"]
    assert client.post("/api/sync/tasks/" + "0" * 32, **auth).status_code == 405


def test_a_revoked_token_can_no_longer_follow_its_task(client):
    token_row, token = ApiToken.issue("revoked-later")
    body = trigger(client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}).json()
    token_row.revoke(reason="rotated")
    response = client.get(body["status_url"], HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_the_status_url_follows_a_partial_run_through_its_continuation(client, auth, sims, monkeypatch):
    """A worker run that runs out of budget ends partial; its continuation carries the same task record on,
    so the status URL says running (not done) until the chain's last run, then done with that run."""
    from django_q.models import OrmQ
    from django_q.tasks import _sync

    from sync.engine import worker
    from sync.engine.budget import Budget
    from tests.engine_support import live, sf_posts

    live(SAFE_MODE=False)
    _, sf = sims
    budgets = iter([Budget(stop_requested=lambda: sf_posts(sf) >= 2)])
    # The first run's budget runs out after two ServiceFusion writes; the continuation has the worker's.
    monkeypatch.setattr(worker, "worker_budget", lambda stopping=None: next(budgets, Budget()))
    body = trigger(client, auth).json()

    first = OrmQ.objects.get()
    first.delete()
    _sync(first.payload)
    row = QueuedTask.objects.get()
    partial = SyncRun.objects.get()
    assert partial.status == SyncRun.Status.PARTIAL, partial.error_summary
    continuation = OrmQ.objects.get()
    assert row.followed_task_id == continuation.task["id"] != body["task_id"]
    assert continuation.task["kwargs"]["queued_task_id"] == row.pk
    middle = client.get(body["status_url"], **auth).json()
    assert middle["state"] == "running" and middle["run_id"] == partial.pk, middle
    assert f"continued by task {row.followed_task_id}" in middle["result"] and not middle["finished_at"]

    assert work_off_queue() == [row.followed_task_id]
    last = SyncRun.objects.exclude(pk=partial.pk).get()
    assert last.status == SyncRun.Status.SUCCEEDED and last.continues_id == partial.pk
    done = client.get(body["status_url"], **auth).json()
    assert done["state"] == "done" and done["run_id"] == last.pk and done["run"]["status"] == "succeeded"
    assert done["result"] == f"run {last.pk}: succeeded" and done["finished_at"]
