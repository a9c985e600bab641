"""Background mapping imports: their state, what the check found, and the confirm button."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django_q.tasks import async_task

from warehouse.models import MappingImport


def start_background_import(request, form) -> MappingImport:
    """Store the uploaded file and queue its check; the import itself waits for confirmation."""
    upload = form.cleaned_data["import_file"]
    fmt = form._formats[int(form.cleaned_data["format"])]
    job = MappingImport.objects.create(
        file_name=upload.name[:255], file_format=fmt().get_title(), content=form.raw,
        row_count=len(form.dataset), created_by=request.user,
    )
    # Queued after commit so the worker finds the row (the ORM broker may use another connection).
    transaction.on_commit(lambda: _queue(job.pk, "warehouse.mapping_import.check_mapping_import"))
    return job


def _queue(pk: int, func: str) -> None:
    task_id = async_task(func, pk, task_name=f"mapping import {pk}", group="mapping-imports")
    MappingImport.objects.filter(pk=pk).update(task_id=str(task_id or ""))


@admin.register(MappingImport)
class MappingImportAdmin(admin.ModelAdmin):
    list_display = ("file_name", "state", "row_count", "created_by", "created_at", "finished_at")
    list_filter = ("state",)
    list_select_related = ("created_by", "confirmed_by")
    search_fields = ("file_name",)
    change_form_template = "admin/warehouse/mappingimport/change_form.html"
    readonly_fields = ("file_name", "file_format", "row_count", "state", "created_by", "created_at",
                       "confirmed_by", "confirmed_at", "finished_at", "error", "task_id")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")  # the file itself is never shown

    def has_add_permission(self, request):
        return False  # files arrive through the customer mappings' import page

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("<int:pk>/confirm/", self.admin_site.admin_view(self.confirm_view),
                 name="warehouse_mappingimport_confirm"),
        ] + super().get_urls()

    def can_confirm(self, request) -> bool:
        return request.user.has_perm("warehouse.import_customermapping")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        job = self.get_object(request, object_id)
        if job is not None:
            extra_context.update({
                "job": job, "preview": job.preview or {}, "result": job.result or {},
                "can_confirm": self.can_confirm(request) and job.state == MappingImport.State.READY,
                "confirm_url": reverse("admin:warehouse_mappingimport_confirm", args=[job.pk]),
                "show_save": False,
            })
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_confirm(request):
            raise PermissionDenied
        claimed = MappingImport.objects.filter(pk=pk, state=MappingImport.State.READY).update(
            state=MappingImport.State.IMPORTING, confirmed_by=request.user, confirmed_at=timezone.now())
        job = MappingImport.objects.get(pk=pk)
        if not claimed:
            state = job.get_state_display()
            messages.error(request, f"{job.file_name} cannot be imported now: it is {state}.")
        else:
            LogEntry.objects.log_actions(request.user.pk, [job], CHANGE,
                                         change_message="confirmed the import", single_object=True)
            transaction.on_commit(lambda: _queue(job.pk, "warehouse.mapping_import.run_mapping_import"))
            messages.success(request, f"{job.file_name} is being imported in the background.")
        return HttpResponseRedirect(reverse("admin:warehouse_mappingimport_change", args=[pk]))
