"""The freshness mode's one state row: its adaptive interval, its share of the ServiceFusion allowance
(a token bucket) and the tallies staff and /metrics read (runs, skips, writes left for later)."""
from __future__ import annotations

from django.db import models

__all__ = ["FreshnessState"]


class FreshnessState(models.Model):
    """One row (name "freshness"), claimed by conditional UPDATEs so two ticks never both start a run."""

    name = models.CharField(max_length=32, unique=True, default="freshness")
    interval_seconds = models.PositiveIntegerField(
        default=0, help_text="Seconds between light runs now (0: not started; the minimum applies).")
    next_due_at = models.DateTimeField(null=True, blank=True, help_text="When the next light run may start.")
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=200, blank=True, default="",
                                    help_text="What the last tick did, e.g. ran, skipped and why.")
    last_run = models.ForeignKey("sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_changes = models.PositiveIntegerField(default=0, help_text="Changes the last light run found.")
    runs = models.PositiveIntegerField(default=0, help_text="Light runs started.")
    skipped_overlap = models.PositiveIntegerField(
        default=0, help_text="Due ticks that found another run holding the sync lock.")
    skipped_budget = models.PositiveIntegerField(
        default=0, help_text="Due ticks that found the freshness share of the SF allowance spent.")
    skipped_full_run = models.PositiveIntegerField(
        default=0, help_text="Due ticks that stood aside because a full scheduled run was about to start.")
    writes_deferred = models.PositiveIntegerField(
        default=0, help_text="Light runs that left SF writes for later because their share was spent.")
    sf_requests = models.PositiveBigIntegerField(default=0, help_text="SF requests made by light runs.")
    sf_tokens = models.FloatField(default=0.0, help_text="SF requests the share had left at sf_tokens_at.")
    sf_tokens_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "freshness mode"
        verbose_name_plural = "freshness mode"

    def __str__(self) -> str:
        return f"freshness: every {self.interval_seconds} s, {self.runs} runs"
