"""The row behind ``sync.engine.locks.sync_lock`` on databases without advisory locks (SQLite).

PostgreSQL uses a session advisory lock instead and never touches this table.
"""
from __future__ import annotations

from django.db import models

__all__ = ["SyncLock"]


class SyncLock(models.Model):
    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=200, blank=True,
                              help_text="host:pid:start:token of the holder; empty = free.")
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True,
                                      help_text="After this a silent holder is presumed dead.")

    class Meta:
        verbose_name = "sync lock"

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"
