"""Mapping imports after their preview: the stored file, the confirm form (with its reason) and the
checks that refuse a tampered confirm, for small files and for those checked in the background."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django_q.tasks import async_task

from greenlight.admin_tools import ReasonField
from warehouse.mapping_import import FORMATS
from warehouse.models import MappingImport
from warehouse.resources import REASON_MAX


class MappingConfirmForm(forms.Form):
    """The confirm step names the stored import; the file itself never travels back from the browser."""

    import_id = forms.IntegerField(widget=forms.HiddenInput())
    original_file_name = forms.CharField(widget=forms.HiddenInput())
    format = forms.CharField(widget=forms.HiddenInput())
    resource = forms.CharField(widget=forms.HiddenInput(), required=False)
    reason = ReasonField(max_length=REASON_MAX,
                         help_text="Why you are importing this file. Kept in each mapping's history.")


def store_import(request, form, state: str) -> MappingImport:
    """Keep an uploaded, checked file until it is confirmed (or refused)."""
    upload = form.cleaned_data["import_file"]
    fmt = form._formats[int(form.cleaned_data["format"])]
    return MappingImport.objects.create(
        file_name=upload.name[:255], file_format=fmt().get_title(), content=form.raw,
        row_count=len(form.dataset), created_by=request.user, state=state,
    )


def confirm_initial(job: MappingImport) -> dict:
    index = next(i for i, fmt in enumerate(FORMATS) if fmt().get_title() == job.file_format)
    return {"import_id": job.pk, "original_file_name": job.file_name, "format": str(index), "resource": "0"}


def start_background_import(request, form) -> MappingImport:
    """Store the uploaded file and queue its check; the import itself waits for confirmation."""
    job = store_import(request, form, MappingImport.State.CHECKING)
    # Queued after commit so the worker finds the row (the ORM broker may use another connection).
    transaction.on_commit(lambda: _queue(job.pk, "warehouse.mapping_import.check_mapping_import"))
    return job


def _queue(pk: int, func: str) -> None:
    task_id = async_task(func, pk, task_name=f"mapping import {pk}", group="mapping-imports")
    MappingImport.objects.filter(pk=pk).update(task_id=str(task_id or ""))


def refused(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(f"{message} Nothing was changed.", content_type="text/plain; charset=utf-8")


def confirmable(request, pk, *, posted: dict | None = None) -> MappingImport | HttpResponseBadRequest:
    """The import this user may confirm now, or a 400 saying why a (tampered) confirm is refused."""
    job = MappingImport.objects.defer("content").filter(pk=pk).first() if pk is not None else None
    if job is None:
        return refused(f"There is no mapping import {pk}.")
    if job.created_by_id != request.user.pk:
        return refused(f"Mapping import {pk} was uploaded by someone else; only they can confirm it.")
    if posted is not None and posted != {k: v for k, v in confirm_initial(job).items() if k in posted}:
        return refused(f"The confirm form does not match mapping import {pk} ({job.file_name}); upload the "
                       "file again.")
    if job.state != MappingImport.State.READY:
        return refused(f"{job.file_name} cannot be imported now: it is {job.get_state_display()}.")
    return job


def claim(request, job: MappingImport, reason: str) -> bool:
    """Mark a checked import as confirmed, once: a second click or a second tab finds it taken."""
    claimed = MappingImport.objects.filter(pk=job.pk, state=MappingImport.State.READY).update(
        state=MappingImport.State.IMPORTING, confirmed_by=request.user, confirmed_at=timezone.now(),
        result={"reason": reason})
    if claimed:
        job.refresh_from_db()
        LogEntry.objects.log_actions(request.user.pk, [job], CHANGE,
                                     change_message=f"confirmed the import: {reason}", single_object=True)
    return bool(claimed)


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
                "can_confirm": (self.can_confirm(request) and job.state == MappingImport.State.READY
                                and job.created_by_id == request.user.pk),
                "confirm_url": reverse("admin:warehouse_mappingimport_confirm", args=[job.pk]),
                "reason_form": MappingConfirmForm(initial=confirm_initial(job)),
                "show_save": False,
            })
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_confirm(request):
            raise PermissionDenied
        job = confirmable(request, pk)
        if not isinstance(job, MappingImport):
            return job
        page = reverse("admin:warehouse_mappingimport_change", args=[pk])
        form = MappingConfirmForm({**confirm_initial(job), "reason": request.POST.get("reason", "")})
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for e in form.errors.get("reason", ["Not valid."])))
        elif claim(request, job, form.cleaned_data["reason"]):
            transaction.on_commit(lambda: _queue(job.pk, "warehouse.mapping_import.run_mapping_import"))
            messages.success(request, f"{job.file_name} is being imported in the background.")
        else:
            return refused(f"{job.file_name} is already being imported.")
        return HttpResponseRedirect(page)
