"""Work queued for the workers by the HTTP API or a staff button, with the state its status URL answers:
queued, running, done or failed, and the sync run it started."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .runs import SyncRun

__all__ = ["QueuedTask"]


class QueuedTask(models.Model):
    """One queued django-q2 task, created before it is queued: the worker finds it by its primary key
    (a task does not know its own django-q2 id), callers by ``task_id``."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    task_id = models.CharField(max_length=32, unique=True, null=True, blank=True,
                               help_text="django-q2's id, set once the task is queued.")
    kind = models.CharField(max_length=32, help_text="What it does: sync, fix_unit_ids, test_alert.")
    label = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_via = models.CharField(max_length=120, blank=True, default="",
                                     help_text="admin, or the API token's name.")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, default="")
    followed_task_id = models.CharField(
        max_length=32, blank=True, default="",
        help_text="The django-q2 task now carrying the work on: a partial run's continuation.",
    )

    class Meta:
        db_table = "sync_queued_tasks"
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.state})"
