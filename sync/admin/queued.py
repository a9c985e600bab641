"""The staff side of queued work: the message a button answers with (a link to the task's status), and the
status page itself, which sends a sync to its run page once the run exists and refreshes until then."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from sync.engine import queued
from sync.models import QueuedTask

VIEW_PERMISSION = "sync.view_queuedtask"
#: How often the status page reloads while the task waits or runs (seconds).
REFRESH_SECONDS = 3


def task_url(task_id: str) -> str:
    return reverse("admin:sync_queued_task", args=[task_id])


def queued_message(request, what: str, task_id: str) -> None:
    """The admin's 202: "<what> is queued", with a link to follow it."""
    messages.success(request, format_html('{} is queued (task {}). <a href="{}">Follow it</a>.', what,
                                          task_id, task_url(task_id)))


def queued_task_view(request, task_id: str):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    row = QueuedTask.objects.select_related("run", "requested_by").filter(task_id=task_id).first()
    if row is None:
        raise Http404(f"No queued task has the id {task_id[:40]}.")
    status = queued.status(row)
    waiting = status["state"] in (QueuedTask.State.QUEUED, QueuedTask.State.RUNNING)
    # A sync is followed on its run page (steps, progress) as soon as its run exists.
    if row.run_id is not None and request.user.has_perm("sync.view_syncrun"):
        return HttpResponseRedirect(reverse("admin:sync_syncrun_change", args=[row.run_id]))
    context = {**admin.site.each_context(request), "title": f"{row.label}: {status['state']}", "task": row,
               "status": status, "refresh": REFRESH_SECONDS if waiting else None}
    request.current_app = admin.site.name
    return TemplateResponse(request, "admin/sync/queuedtask/status.html", context)
