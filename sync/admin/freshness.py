"""The freshness mode's state (read-only): interval, next light run, runs, counted skips, SF share spent."""
from __future__ import annotations

from django.contrib import admin

from greenlight.admin_tools import ReadOnlyAdminMixin
from sync.models import FreshnessState


@admin.register(FreshnessState)
class FreshnessStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "interval_seconds", "next_due_at", "last_outcome", "runs", "skipped_overlap",
                    "skipped_budget", "skipped_full_run", "writes_deferred", "sf_requests")
    readonly_fields = ("name", "interval_seconds", "next_due_at", "last_tick_at", "last_outcome", "last_run",
                       "last_run_at", "last_changes", "runs", "skipped_overlap", "skipped_budget",
                       "skipped_full_run", "writes_deferred", "sf_requests", "sf_tokens", "sf_tokens_at")
