"""Feature flags staff edit at runtime (business rules §9), their audited history (who, when, why, before and
after), and the push-failure streak that trips safe mode; what each flag means is in flag_registry."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from sync.policies.flag_registry import FlagError, canonical_name, spec_for

__all__ = ["FeatureFlag", "PushFailureStreak"]


class FlagHistoryBase(models.Model):
    """Extra column on the flag history: the value before the change, stored so the admin shows old and
    new side by side without walking the history chain."""

    previous_value = models.TextField(
        null=True, blank=True, help_text="Value before this change; empty when the flag was unset (default)."
    )

    class Meta:
        abstract = True


class FeatureFlag(models.Model):
    name = models.CharField(max_length=64, unique=True, help_text="Canonical flag name, e.g. DRY_RUN.")
    value = models.TextField(help_text="Text value, parsed strictly by the flag's type.")
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        bases=[FlagHistoryBase],
        history_change_reason_field=models.TextField(null=True),
        verbose_name="feature flag change",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "feature flag"

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    def clean(self) -> None:
        # Admin edits go through the same strict parsing as set_flag.
        try:
            self.name = canonical_name(self.name)
            self.value = spec_for(self.name).to_text(self.value)
        except FlagError as exc:
            field = "name" if exc.unknown else "value"
            raise ValidationError({field: str(exc)}) from exc


@receiver(pre_create_historical_record, sender=FeatureFlag.history.model)
def _remember_previous_value(sender, instance, history_instance, **kwargs) -> None:
    last = sender.objects.filter(id=instance.pk).order_by("-history_date", "-history_id").first()
    history_instance.previous_value = None if last is None or last.history_type == "-" else last.value


class PushFailureStreak(models.Model):
    """Consecutive failed pushes, counted across steps and processes (``record_push_outcome``)."""

    name = models.CharField(max_length=32, unique=True, default="push")
    count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "push failure streak"

    def __str__(self) -> str:
        return f"{self.name}: {self.count} consecutive failures"
