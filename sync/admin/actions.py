"""“Sync now” and “dry run now”: operators queue a run from the dashboard (the same entry point the
schedule and the HTTP trigger use)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from sync.admin.queued import queued_message
from sync.engine import tasks


def sync_now_view(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("sync.trigger_sync"):
        raise PermissionDenied
    dry_run = request.POST.get("dry_run") == "true"
    task_id = tasks.enqueue_sync(dry_run=True if dry_run else None, user=request.user, trigger="admin")
    queued_message(request, "A dry run" if dry_run else "A sync run", task_id)
    target = request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("admin:index")
    return HttpResponseRedirect(target)
