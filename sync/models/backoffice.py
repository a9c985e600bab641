"""Views of engine records that get a screen of their own in the back office (proxy models: no tables)."""
from __future__ import annotations

from django.db import models

from .runs import OutboxItem

__all__ = ["DeadLetter"]


class DeadLetterManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(state=OutboxItem.State.DEAD)


class DeadLetter(OutboxItem):
    """An outbox write that failed for good: staff retry it or ignore it."""

    objects = DeadLetterManager()

    class Meta:
        proxy = True
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"
