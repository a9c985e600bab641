"""Run records of the sync engine: runs and their steps [sync_history], per-stream cursors [sync_state],
the outbox of intended writes, and the error log [error_logs].
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

__all__ = ["Cursor", "OutboxItem", "StepRun", "SyncError", "SyncRun"]


class SyncRun(models.Model):
    """One run of the pipeline: who started it, what the flags were, what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run held the lock)"
        #: stopped at its time budget or by the worker stopping; its continuation carries on
        PARTIAL = "partial", "Partial (continued by the next run)"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULE = "schedule", "Schedule"
        TASK = "task", "Task queue"
        ADMIN = "admin", "Admin action"
        API = "api", "HTTP trigger"
        DEMO = "demo", "Demo"
        CONTINUATION = "continuation", "Continuation of a partial run"
        FRESHNESS = "freshness", "Freshness (light run)"

    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False, help_text="Forced dry run for the whole run (--dry-run).")
    full = models.BooleanField(default=False, help_text="Full reconciliation: pulls detect deletions.")
    steps_requested = models.JSONField(default=list, blank=True, help_text="Empty = every step.")
    flags = models.JSONField(default=dict, blank=True, help_text="Flag values when the run started.")
    counts = models.JSONField(default=dict, blank=True, help_text="Totals over the steps.")
    api_calls = models.JSONField(
        default=dict, blank=True, help_text="Calls and seconds per system and operation."
    )
    error_summary = models.TextField(blank=True, default="")
    stop_reason = models.TextField(
        blank=True, default="", help_text="Why a partial run stopped taking new work (budget, worker stop)."
    )
    continues = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continuations",
        help_text="The partial run this one carries on.",
    )

    class Meta:
        db_table = "sync_history"
        ordering = ["-started_at", "-id"]
        verbose_name = "sync run"

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status}, {self.started_at:%Y-%m-%d %H:%M})"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None


class StepRun(models.Model):
    """One step of a run, with the flags it read when it started and what it did."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        #: stopped taking new work at the run's budget; what it committed stays
        PARTIAL = "partial", "Partial (stopped at the budget)"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(default=dict, blank=True, help_text="Flags as read when the step started.")
    api_calls = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(
        default=dict, blank=True, help_text="Planned, done and remaining as it runs (sync.engine.progress)."
    )
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["run_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="step_run_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Cursor(models.Model):
    """Where a stream's incremental reads resume [sync_state]; committed with each batch it covers."""

    workflow = models.CharField(max_length=64)
    entity_type = models.CharField(max_length=64)
    state = models.JSONField(default=dict, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sync_state"
        constraints = [
            models.UniqueConstraint(fields=["workflow", "entity_type"], name="sync_state_unique_stream")
        ]

    def __str__(self) -> str:
        return f"{self.workflow}/{self.entity_type} @ {self.last_sync_time or 'never'}"


class OutboxQuerySet(models.QuerySet):
    def due(self, now=None):
        """Rows a sender may claim now."""
        now = now or timezone.now()
        return self.filter(
            Q(state=OutboxItem.State.PLANNED) | Q(state=OutboxItem.State.FAILED, next_attempt_at__lte=now)
        )

    def claim(self, pk: int, *, run_id: int | None, now=None) -> bool:
        """Take one due row for sending: a conditional UPDATE, so two senders never both win it.

        ``ambiguous`` is set before the write and cleared once its outcome is known: a sender killed
        mid-write leaves it set, and the next attempt looks the record up before writing again.
        """
        now = now or timezone.now()
        return (
            self.due(now)
            .filter(pk=pk)
            .update(
                state=OutboxItem.State.SENDING,
                attempts=F("attempts") + 1,
                claimed_at=now,
                run_id=run_id,
                ambiguous=True,
                updated_at=now,
            )
            == 1
        )


class OutboxItem(models.Model):
    """One intended write to PropertyWare or ServiceFusion, keyed so it is planned and made once."""

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        HELD = "held", "Held"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead letter"
        IGNORED = "ignored", "Ignored"
        DRY_RUN = "dry_run", "Dry run (not sent)"

    class Kind(models.TextChoices):
        PORTFOLIO_CUSTOMER = "portfolio_customer", "SF customer for a portfolio"
        BUILDING_CUSTOMER = "building_customer", "SF customer for a building"
        TENANT_CUSTOMER = "tenant_customer", "SF child customer for a lease"
        JOB = "job", "SF job for a work order"
        PW_JOB_LINK = "pw_job_link", "SF job id back to PW"
        PW_STATUS = "pw_status", "SF job status back to PW"

    #: States a later plan may not overwrite: the write happened, or staff decided about it.
    SETTLED = (State.SENT, State.DEAD, State.IGNORED, State.SENDING)

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    context = models.JSONField(
        default=dict, blank=True, help_text="What the sender needs besides the body (PW ids, labels)."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PLANNED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    ambiguous = models.BooleanField(
        default=False, help_text="The last write's outcome is unknown: look the record up before writing."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True, help_text="Remote ids of what was written.")
    hold_reason = models.TextField(blank=True, default="")
    review = models.BooleanField(
        default=False, help_text="Held for staff review (a conflict): planning never reopens it."
    )
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "kind", "next_attempt_at"], name="outbox_due"),
            # The few rows staff must decide, which every planning pass looks up.
            models.Index(fields=["kind"], condition=models.Q(review=True), name="outbox_in_review"),
        ]
        verbose_name = "outbox item"

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"

    @property
    def remote_id(self):
        return (self.result or {}).get("id")


class SyncError(models.Model):
    """Every error the sync meets [error_logs]: where, what, the stack, and what was done about it."""

    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    function = models.CharField(max_length=128)
    error = models.TextField()
    stack = models.TextField(blank=True, default="")
    recovery_action = models.CharField(max_length=255, blank=True, default="")
    system = models.CharField(max_length=16, blank=True, default="")
    record_key = models.CharField(max_length=200, blank=True, default="", db_index=True)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="errors")
    step = models.ForeignKey(StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="errors")

    class Meta:
        db_table = "error_logs"
        ordering = ["-timestamp", "-id"]
        verbose_name = "sync error"

    def __str__(self) -> str:
        return f"{self.function}: {self.error[:80]}"
