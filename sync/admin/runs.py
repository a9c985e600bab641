"""Runs with their steps, progress and errors, the error log, the outbox, and dead letters (retry /
ignore)."""
from __future__ import annotations

from typing import ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from greenlight.admin_tools import ReadOnlyAdminMixin, confirm_with_reason, log_changes
from sync.engine.progress import SYSTEM_NAMES, duration_text, run_progress
from sync.models import DeadLetter, OutboxItem, StepRun, SyncError, SyncRun
from sync.outbox.staff import ignore_items, retry_items


def _duration(start, end) -> str:
    if not (start and end):
        return "—"
    seconds = (end - start).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_link(run_id: int | None):
    if run_id is None:
        return "—"
    return format_html('<a href="{}">run {}</a>', reverse("admin:sync_syncrun_change", args=[run_id]), run_id)


def counts_text(counts: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in (counts or {}).items() if v not in (0, None, "", [], {})) or "—"


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StepRun
    fields = ("position", "name", "status", "started_at", "duration", "counts_summary", "message")
    readonly_fields = fields
    extra = 0
    ordering = ("position", "id")
    show_change_link = False

    @admin.display(description="Duration")
    def duration(self, obj):
        return _duration(obj.started_at, obj.finished_at)

    @admin.display(description="Counts")
    def counts_summary(self, obj):
        return counts_text(obj.counts)


class SyncErrorInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SyncError
    fk_name = "run"
    fields = ("timestamp", "function", "system", "record_key", "error", "recovery_action")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    classes = ("collapse",)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "started_at", "status", "trigger", "user", "dry_run", "duration", "step_summary",
                    "error_count")
    list_filter = ("status", "trigger", "dry_run", "full", "started_at")
    list_select_related = ("user",)
    search_fields = ("=id", "error_summary", "user__username")
    date_hierarchy = "started_at"
    list_per_page = 50
    inlines = [StepRunInline, SyncErrorInline]
    fields = ("status", "trigger", "user", "dry_run", "full", "started_at", "finished_at", "duration",
              "steps_requested", "counts_pretty", "api_calls", "flags", "error_summary", "stop_reason",
              "continues", "outbox_link")
    readonly_fields = fields

    def get_queryset(self, request):
        return (super().get_queryset(request).annotate(n_errors=Count("errors", distinct=True))
                .prefetch_related("steps"))

    change_form_template = "admin/sync/syncrun/change_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/progress.json", self.admin_site.admin_view(self.progress_view),
                 name="{}_{}_progress".format(*info)),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        """The run's progress as JSON (``run_progress``): the run page polls it while the run runs."""
        run = SyncRun.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        if run is None:
            raise Http404("no such run")
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        response = JsonResponse(run_progress(run))
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = SyncRun.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = dict(extra_context or {})
        if run is not None and self.has_view_or_change_permission(request, run):
            data = run_progress(run)
            for step in data["steps"]:
                eta = step["eta_seconds"]
                step["eta_text"] = duration_text(eta) if eta else ""
                step["requests_text"] = ", ".join(
                    f"{SYSTEM_NAMES.get(k, k)} {v}" for k, v in sorted(step["requests"].items())) or "—"
            extra.update(
                progress=data,
                progress_url=reverse("admin:sync_syncrun_progress", args=[run.pk]),
                eta_text=duration_text(data["eta_seconds"]) if data["running"] else "",
                rates_text=", ".join(f"{SYSTEM_NAMES.get(k, k)} {v:g}/min"
                                     for k, v in sorted(data["rates_per_minute"].items())),
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description="Duration")
    def duration(self, obj):
        return _duration(obj.started_at, obj.finished_at)

    @admin.display(description="Errors", ordering="n_errors")
    def error_count(self, obj):
        n = getattr(obj, "n_errors", None)
        if not n:
            return 0
        url = reverse("admin:sync_syncerror_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, n)

    @admin.display(description="Steps")
    def step_summary(self, obj):
        steps = list(obj.steps.all())
        failed = [s.name for s in steps if s.status == StepRun.Status.FAILED]
        done = sum(1 for s in steps if s.status == StepRun.Status.SUCCEEDED)
        text = f"{done}/{len(steps)} succeeded"
        left = [s.name for s in steps if s.status in (StepRun.Status.PARTIAL, StepRun.Status.PENDING)]
        if obj.status == SyncRun.Status.PARTIAL and left:
            text += f"; left for the continuation: {', '.join(left)}"
        return f"{text}; failed: {', '.join(failed)}" if failed else text

    @admin.display(description="Counts")
    def counts_pretty(self, obj):
        return counts_text(obj.counts)

    @admin.display(description="Outbox")
    def outbox_link(self, obj):
        url = reverse("admin:sync_outboxitem_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">writes of this run</a>', url)


@admin.register(SyncError)
class SyncErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("timestamp", "function", "system", "record_key", "short_error", "recovery_action",
                    "run_link")
    list_filter = ("system", "function", "timestamp")
    list_select_related = ("run", "step")
    search_fields = ("error", "record_key", "function", "recovery_action")
    date_hierarchy = "timestamp"
    list_per_page = 50

    @admin.display(description="Error")
    def short_error(self, obj):
        return shorten(obj.error, 120)

    @admin.display(description="Run", ordering="run")
    def run_link(self, obj):
        return run_link(obj.run_id)


class OutboxAdminBase(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display: tuple[str, ...] = (
        "key", "kind", "state", "attempts", "short_error", "updated_at", "run_link")
    list_filter: ClassVar[tuple[str, ...]] = ("state", "kind", "review")
    list_select_related = ("run",)
    search_fields = ("key", "last_error", "hold_reason")
    date_hierarchy = "updated_at"
    list_per_page = 50
    readonly_fields = ("key", "kind", "state", "attempts", "ambiguous", "next_attempt_at", "last_error",
                       "hold_reason", "payload", "context", "result", "run", "created_at", "updated_at",
                       "sent_at")

    @admin.display(description="Last error")
    def short_error(self, obj):
        return shorten(obj.last_error, 100)

    @admin.display(description="Run", ordering="run")
    def run_link(self, obj):
        return run_link(obj.run_id)

    def has_change_permission(self, request, obj=None):
        # Staff never edit a write; the retry/ignore actions need the change permission.
        return request.user.has_perm("sync.change_outboxitem") if obj is None else False

    @admin.action(description="Retry selected dead letters", permissions=["change"])
    def retry(self, request, queryset):
        dead = list(queryset.filter(state=OutboxItem.State.DEAD))

        def apply(reason):
            done = retry_items(dead)
            log_changes(request.user, dead, f"Retry requested. Reason: {reason}")
            self.message_user(request, f"{done} dead letter(s) queued again; the next run sends them.",
                              messages.SUCCESS)

        return confirm_with_reason(self, request, dead, action="retry", title="Retry dead letters",
                                   verb="Retry", apply=apply,
                                   note="Each write is planned again and sent by the next run.")

    @admin.action(description="Ignore selected dead letters", permissions=["change"])
    def ignore(self, request, queryset):
        dead = list(queryset.filter(state=OutboxItem.State.DEAD))

        def apply(reason):
            done = ignore_items(dead, reason)
            log_changes(request.user, dead, f"Ignored. Reason: {reason}")
            self.message_user(request, f"{done} dead letter(s) ignored; they will not be sent.",
                              messages.SUCCESS)

        return confirm_with_reason(self, request, dead, action="ignore", title="Ignore dead letters",
                                   verb="Ignore", apply=apply,
                                   note="Ignored writes are never sent; the record stays for the audit.")


@admin.register(OutboxItem)
class OutboxItemAdmin(OutboxAdminBase):
    actions = ["retry", "ignore"]


@admin.register(DeadLetter)
class DeadLetterAdmin(OutboxAdminBase):
    list_display = ("key", "kind", "attempts", "short_error", "updated_at", "run_link")
    list_filter = ("kind",)
    actions = ["retry", "ignore"]

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("sync.change_outboxitem") if obj is None else False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("sync.view_outboxitem")

    def has_module_permission(self, request):
        return request.user.has_perm("sync.view_outboxitem")
