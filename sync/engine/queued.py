"""Queued work that callers follow by a status URL: ``enqueue`` records a QueuedTask and queues it,
``tracking`` is how the task reports running, its run and its outcome, ``status`` is what callers see."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone
from django_q.models import Task
from django_q.tasks import async_task

from sync.models import QueuedTask, SyncRun

__all__ = ["QUEUED_TASK_KWARG", "Tracker", "enqueue", "status", "tracking"]

log = logging.getLogger(__name__)

#: The keyword a tracked task receives: the QueuedTask's primary key (admin resubmits drop it).
QUEUED_TASK_KWARG = "queued_task_id"
State = QueuedTask.State
#: A run that ended so did not do what was asked.
_RUN_FAILED = (SyncRun.Status.FAILED, SyncRun.Status.REFUSED)


def enqueue(func: str, *, kind: str, label: str, group: str, user=None, via: str = "",
            **kwargs: Any) -> QueuedTask:
    """Record the request, then queue ``func(**kwargs, queued_task_id=<its pk>)``; returns the record with
    django-q2's task id. The row is written first so that a worker quicker than this call still finds it."""
    params = json.loads(json.dumps(kwargs, default=str))  # what was asked, as JSON can keep it
    row = QueuedTask.objects.create(kind=kind, label=label[:200], params=params, requested_by=user,
                                    requested_via=via[:120])
    row.task_id = async_task(func, task_name=label, group=group, **kwargs, **{QUEUED_TASK_KWARG: row.pk})
    QueuedTask.objects.filter(pk=row.pk).update(task_id=row.task_id)
    return row


class Tracker:
    """What a tracked task calls while it runs; every method is a no-op for an untracked call (the schedule,
    the shell)."""

    def __init__(self, pk: int | None) -> None:
        self.pk = pk
        self.outcome: tuple[str, str] | None = None

    def _update(self, **fields: Any) -> None:
        if self.pk is not None:
            QueuedTask.objects.filter(pk=self.pk).update(**fields)

    def progress(self, event: dict[str, Any]) -> None:
        """``run_sync``'s progress callback: links the run as soon as it exists (a refused run has no start
        event, only its end)."""
        if event.get("event") in ("run_started", "run_finished") and event.get("run_id"):
            # A continuation carries the same record on: it then follows the chain's newest run.
            self._update(run_id=event["run_id"])

    def ran(self, run: SyncRun) -> None:
        """The task's outcome is its run's: failed or refused fails it."""
        failed = run.status in _RUN_FAILED
        text = f"run {run.pk}: {run.status}" + (f" ({run.error_summary[:500]})" if run.error_summary else "")
        self.finish(text, failed=failed)

    def finish(self, result: str, *, failed: bool = False) -> None:
        self.outcome = (State.FAILED if failed else State.DONE, result)

    def continued(self, run: SyncRun, task_id: str) -> None:
        """``run`` ended partial and the django-q2 task ``task_id`` carries it on: the record stays running
        and follows that task from now on."""
        self.outcome = (State.RUNNING, f"run {run.pk}: partial ({run.stop_reason[:300]}); "
                                       f"continued by task {task_id}")
        self._update(followed_task_id=task_id)


@contextmanager
def tracking(pk: int | None) -> Iterator[Tracker]:
    """Mark the task running, then done or failed (failed with the exception when it raises)."""
    tracker = Tracker(pk)
    if pk is not None and not QueuedTask.objects.filter(pk=pk).exists():
        log.warning("queued task %s has no record; it runs untracked", pk)
        tracker.pk = None
    tracker._update(state=State.RUNNING, started_at=timezone.now())
    try:
        yield tracker
    except BaseException as exc:  # the worker records the failure too; this is the caller's view of it
        tracker._update(state=State.FAILED, finished_at=timezone.now(),
                        result=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    state, result = tracker.outcome or (State.DONE, "")
    finished = None if state == State.RUNNING else timezone.now()
    tracker._update(state=state, finished_at=finished, result=result[:2000])


def status(row: QueuedTask) -> dict[str, Any]:
    """The task's state as callers see it: queued, running, done or failed, with when, its result, and the
    run it started. A worker killed mid-task (timeout, OOM) cannot update the row; django-q2's own record of
    the task, when it has one, settles it."""
    state, result, finished = row.state, row.result, row.finished_at
    followed = row.followed_task_id or row.task_id  # a partial run's continuation, once there is one
    if state in (State.QUEUED, State.RUNNING) and followed:
        task = Task.objects.filter(id=followed).only("success", "result", "stopped").first()
        if task is not None:
            state = State.DONE if task.success else State.FAILED
            result = result or str(task.result or "")[:2000]
            finished = finished or task.stopped
    return {
        "task_id": row.task_id, "kind": row.kind, "label": row.label, "state": str(state),
        "queued_at": row.queued_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": finished.isoformat() if finished else None,
        "result": result, "run_id": row.run_id,
    }
