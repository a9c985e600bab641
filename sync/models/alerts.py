"""Alerts sent to operators (apprise): one row per condition from when it opens until it clears."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["Alert"]


class Alert(models.Model):
    """One alert: opened (and sent) once when its condition appears, resolved (and sent) when it clears."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    condition = models.CharField(max_length=64, db_index=True,
                                 help_text="run_failed, dead_mans_switch, safe_mode_tripped, dead_letters, "
                                           "waiting_for_staff, preflight_failed or test.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    message = models.TextField(help_text="What was seen, as last reported.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.PositiveIntegerField(default=0,
                                          help_text="How many ALERT_URLS the last message went to.")
    delivered = models.BooleanField(
        null=True, help_text="Whether every target accepted the last message (empty: nothing was sent).")
    delivery_result = models.TextField(blank=True, default="", help_text="Per message and target.")

    class Meta:
        ordering = ["-first_seen", "-id"]
        verbose_name = "alert"
        constraints = [
            # One open alert per condition: a second process raising it at once updates, never re-sends.
            models.UniqueConstraint(fields=["condition"], condition=models.Q(state="open"),
                                    name="alert_one_open_per_condition"),
        ]

    def __str__(self) -> str:
        return f"{self.condition} ({self.state}, {self.first_seen:%Y-%m-%d %H:%M})"
