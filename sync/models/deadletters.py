"""Dead letters: the outbox writes that failed for good, as a proxy of OutboxItem with a screen of its own."""
from __future__ import annotations

from django.db import models

from .runs import OutboxItem

__all__ = ["DeadLetter"]


class DeadLetterManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(state=OutboxItem.State.DEAD)


class DeadLetter(OutboxItem):
    """An outbox write that failed for good, with a screen of its own: staff retry it or ignore it.
    A proxy: no table of its own."""

    objects = DeadLetterManager()  # type: ignore[misc,assignment]  # a proxy may narrow its manager

    class Meta:
        proxy = True
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"
