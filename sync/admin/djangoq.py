"""django-q2's screens (successes, failures, schedules, the queue), re-registered so that whatever starts
work needs ``sync.trigger_sync``, asks for a reason, is audited, and runs as whoever asked for it."""
from __future__ import annotations

import inspect

from django.contrib import admin, messages
from django.utils.module_loading import import_string
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.tasks import async_task

from greenlight.admin_tools import confirm_with_reason, log_changes
from sync.engine.queued import QUEUED_TASK_KWARG
from sync.models import SyncRun

TRIGGER_PERMISSION = "sync.trigger_sync"


def _accepts_user_id(func) -> bool:
    try:
        target = import_string(func) if isinstance(func, str) else func
        return "user_id" in inspect.signature(target).parameters
    except (ImportError, TypeError, ValueError):
        return False


def resubmit(task, user) -> str:
    """Queue ``task`` again, credited to ``user`` (never to whoever queued the original)."""
    kwargs = dict(task.kwargs or {})
    # The original's status record is not this task's: a resubmitted task runs untracked.
    kwargs.pop(QUEUED_TASK_KWARG, None)
    if "user_id" in kwargs or _accepts_user_id(task.func):
        kwargs["user_id"] = user.pk
    if "trigger" in kwargs:
        kwargs["trigger"] = SyncRun.Trigger.ADMIN
    return async_task(task.func, *(task.args or ()), hook=task.hook, group=task.group, cluster=task.cluster,
                      **kwargs)


class StartsWorkMixin(admin.ModelAdmin):
    """Starting or changing queued work needs ``sync.trigger_sync`` besides the model's own permission."""

    def has_trigger_permission(self, request) -> bool:
        return request.user.has_perm(TRIGGER_PERMISSION)

    def has_add_permission(self, request, *args):
        return self.has_trigger_permission(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.has_trigger_permission(request) and super().has_change_permission(request, obj)


class ResubmitMixin(admin.ModelAdmin):
    actions = ["resubmit_selected"]

    def has_trigger_permission(self, request) -> bool:
        return request.user.has_perm(TRIGGER_PERMISSION)

    @admin.action(description="Resubmit selected tasks to the queue", permissions=["trigger"])
    def resubmit_selected(self, request, queryset):
        chosen = list(queryset)

        def apply(reason):
            task_ids = [resubmit(task, request.user) for task in chosen]
            log_changes(request.user, chosen,
                        f"Resubmitted to the queue as {request.user.get_username()}. Reason: {reason}")
            self.message_user(request, f"{len(task_ids)} task(s) queued again.", messages.SUCCESS)

        return confirm_with_reason(self, request, chosen, action="resubmit_selected", title="Resubmit tasks",
                                   verb="Resubmit", apply=apply,
                                   note="Each task runs again, as you, with its original arguments.")


class SuccessAdmin(ResubmitMixin, q_admin.TaskAdmin):
    pass


class FailureAdmin(ResubmitMixin, q_admin.FailAdmin):
    # The failure row stays (the library deletes it on resubmit): it is the record of what went wrong.
    pass


class ScheduleAdmin(StartsWorkMixin, q_admin.ScheduleAdmin):
    pass


class QueueAdmin(StartsWorkMixin, q_admin.QueueAdmin):
    pass


for _model, _admin in ((Success, SuccessAdmin), (Failure, FailureAdmin), (Schedule, ScheduleAdmin),
                       (OrmQ, QueueAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
        admin.site.register(_model, _admin)
