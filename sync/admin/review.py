"""The review queues: duplicate candidates (link or push, with who, when and why), work orders held for a unit
problem (choose one of the building's units, or release building-level, with a reason), and the button that
queues fix_unit_ids."""
from __future__ import annotations

import copy
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_q.models import Task

from greenlight.admin_tools import ReasonField, confirm_with_reason, log_change, log_changes
from sync.admin.queued import queued_message
from sync.engine import tasks
from sync.models import DuplicateCandidate, UnitCorrection
from sync.policies.dedup import resolve_candidate
from sync.policies.units import apply_unit_correction
from warehouse.models import DimBuilding, DimUnit, FactJob, FactWorkOrder

DECISIONS = {
    "link": ("Same job — link it", "linked the work order to the existing job"),
    "push": ("Not a duplicate — push it", "judged not a duplicate: push a new job"),
}


def _as_get(request):
    """The request as a GET: re-show a review page (with its errors) without the admin's own form
    processing, which would save the read-only form and log an empty change."""
    clone = copy.copy(request)
    clone.method = "GET"
    return clone


def _work_order_url(work_order_id: int) -> str:
    return reverse("admin:warehouse_factworkorder_changelist") + f"?work_order_id={work_order_id}"


class PendingFirstFilter(admin.SimpleListFilter):
    """State filter that opens on the work still to do."""

    title = "state"
    parameter_name = "state"
    default = "pending"

    def lookups(self, request, model_admin):
        return [*model_admin.model.State.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or self.default
        for lookup, title in self.lookup_choices:
            yield {"selected": value == str(lookup), "query_string": changelist.get_query_string(
                {self.parameter_name: lookup}), "display": title}

    def queryset(self, request, queryset):
        value = self.value() or self.default
        return queryset if value == "all" else queryset.filter(state=value)


class HeldFirstFilter(PendingFirstFilter):
    default = "held"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(k, v[0]) for k, v in DECISIONS.items()], widget=forms.HiddenInput)
    # Stored as the candidate's note: the reason is required, as for every other staff decision.
    note = ReasonField(help_text="Why you decided so. Kept with the decision, your name and the time.")


class ReviewQueueAdmin(admin.ModelAdmin):
    """A queue the sync fills and staff work through: cases are decided, never added or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Work order", ordering="work_order_id")
    def work_order(self, obj):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        return format_html('<a href="{}">WO {}</a>', url, obj.work_order_id)


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(ReviewQueueAdmin):
    list_display = ("work_order", "sf_job_id", "score_pct", "rule", "short_reason", "state", "created_at",
                    "decided_by", "decided_at")
    list_filter = (PendingFirstFilter, "rule")
    list_select_related = ("decided_by",)
    search_fields = ("=work_order_id", "=sf_job_id", "reason", "note")
    date_hierarchy = "created_at"
    actions = ["link_selected", "push_selected"]
    change_form_template = "admin/sync/duplicatecandidate/review.html"
    readonly_fields = ("work_order_id", "sf_job_id", "rule", "score", "reason", "state", "sync_run_id",
                       "created_at", "decided_by", "decided_at", "note")
    fields = readonly_fields


    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Work orders that may duplicate an SF job", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description="Score", ordering="score")
    def score_pct(self, obj):
        return f"{obj.score:.0%}"

    @admin.display(description="Reason")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 90 else obj.reason[:87] + "…"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        candidate = self.get_object(request, object_id)
        if candidate is None:
            return super().change_view(request, object_id, form_url, extra_context)
        can_decide = self.has_change_permission(request, candidate)
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            form = DecisionForm(request.POST)
            if candidate.state != DuplicateCandidate.State.PENDING:
                state = candidate.get_state_display()
                messages.error(request, f"This candidate was already decided ({state} by "
                                        f"{candidate.decided_by}); nothing changed.")
            elif form.is_valid():
                self._decide(request, candidate, form.cleaned_data["decision"], form.cleaned_data["note"])
                return HttpResponseRedirect(reverse("admin:sync_duplicatecandidate_changelist"))
            elif "note" in form.errors:
                messages.error(request, "A reason is required: say why you decided so. Nothing changed.")
            else:
                messages.error(request, "Choose one of the two decisions; nothing changed.")
        work_order = FactWorkOrder.objects.current().filter(work_order_id=candidate.work_order_id).first()
        job = FactJob.objects.current().filter(job_id=candidate.sf_job_id).first()
        building = None
        if work_order is not None and work_order.building_id is not None:
            building = DimBuilding.objects.current().filter(building_id=work_order.building_id).first()
        context = {
            "title": f"Review: is WO {candidate.work_order_id} the same job as SF job {candidate.sf_job_id}?",
            "candidate": candidate, "work_order": work_order, "job": job, "building": building,
            "can_decide": can_decide and candidate.state == DuplicateCandidate.State.PENDING,
            "decisions": [(k, v[0]) for k, v in DECISIONS.items()],
            "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False,
            "work_order_url": _work_order_url(candidate.work_order_id),
            **(extra_context or {}),
        }
        return super().change_view(_as_get(request), object_id, form_url, context)

    def _decide(self, request, candidate, decision: str, note: str) -> None:
        resolve_candidate(candidate, decision, request.user, note)
        label, what = DECISIONS[decision]
        log_change(request.user, candidate, f"{label}: {what}. Reason: {note}")
        messages.success(request, f"WO {candidate.work_order_id}: {what} (SF job {candidate.sf_job_id}).")

    def _bulk(self, request, queryset, decision):
        pending = list(queryset.filter(state=DuplicateCandidate.State.PENDING))
        label, what = DECISIONS[decision]

        def apply(note):
            for candidate in pending:
                resolve_candidate(candidate, decision, request.user, note)
            log_changes(request.user, pending, f"{label}: {what}. Reason: {note}")
            self.message_user(request, f"{len(pending)} candidate(s): {what}.", messages.SUCCESS)

        return confirm_with_reason(self, request, pending, action=f"{decision}_selected", title=label,
                                   verb=label, apply=apply)

    @admin.action(description="Same job — link the selected", permissions=["change"])
    def link_selected(self, request, queryset):
        return self._bulk(request, queryset, "link")

    @admin.action(description="Not a duplicate — push the selected", permissions=["change"])
    def push_selected(self, request, queryset):
        return self._bulk(request, queryset, "push")


class FixReasonForm(forms.Form):
    reason = ReasonField()


class UnitChoiceForm(forms.Form):
    unit = forms.ChoiceField(label="Unit", widget=forms.RadioSelect,
                             error_messages={"required": "Choose a unit, or release the work order "
                                                         "building-level."})
    reason = ReasonField()

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(u.unit_id), f"{u.name or u.abbreviation or u.unit_id} (unit {u.unit_id})"
                    + (f" — {u.address}" if u.address else "")) for u in units]
        choices.append(("building", "No unit: release it building-level"))
        cast(forms.ChoiceField, self.fields["unit"]).choices = choices


@admin.register(UnitCorrection)
class UnitCorrectionAdmin(ReviewQueueAdmin):
    list_display = ("work_order", "building_id", "original_unit_id", "problem", "state", "corrected_unit_id",
                    "decided_by", "decided_at", "created_at")
    list_filter = (HeldFirstFilter, "problem_code")
    list_select_related = ("decided_by",)
    search_fields = ("=work_order_id", "=building_id", "=original_unit_id", "problem", "reason")
    date_hierarchy = "created_at"
    change_form_template = "admin/sync/unitcorrection/correct.html"
    change_list_template = "admin/sync/unitcorrection/change_list.html"
    readonly_fields = ("work_order_id", "building_id", "original_unit_id", "problem_code", "problem", "state",
                       "corrected_unit_id", "sync_run_id", "created_at", "decided_by", "decided_at", "reason")
    fields = readonly_fields


    def get_urls(self):
        return [
            path("fix-unit-ids/", self.admin_site.admin_view(self.fix_unit_ids_view),
                 name="sync_unitcorrection_fix_unit_ids"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        correction = self.get_object(request, object_id)
        if correction is None:
            return super().change_view(request, object_id, form_url, extra_context)
        can_correct = self.has_change_permission(request, correction)
        units = list(DimUnit.objects.current().filter(building_id=correction.building_id)
                     .order_by("name", "unit_id")) if correction.building_id is not None else []
        form = UnitChoiceForm(request.POST or None, units=units)
        if request.method == "POST":
            if not can_correct:
                raise PermissionDenied
            if correction.state != UnitCorrection.State.HELD:
                state = correction.get_state_display()
                messages.error(request, f"This work order is no longer held ({state}); nothing changed.")
            elif form.is_valid():
                unit_id = None if form.cleaned_data["unit"] == "building" else int(form.cleaned_data["unit"])
                reason = form.cleaned_data["reason"]
                try:
                    apply_unit_correction(correction, unit_id, request.user, reason)
                except ValueError as exc:
                    form.add_error("unit", str(exc))
                else:
                    where = f"unit {unit_id}" if unit_id is not None else "building-level (no unit)"
                    wo = correction.work_order_id
                    log_change(request.user, correction,
                               f"Set WO {wo} to {where}; push released. Reason: {reason}")
                    messages.success(request, f"WO {correction.work_order_id} now goes to {where}. "
                                              "Its push is released for the next run.")
                    return HttpResponseRedirect(
                        reverse("admin:sync_unitcorrection_change", args=[correction.pk]))
        versions = (FactWorkOrder.objects.filter(work_order_id=correction.work_order_id)
                    .order_by("-valid_from"))
        building = (DimBuilding.objects.current().filter(building_id=correction.building_id).first()
                    if correction.building_id is not None else None)
        context = {
            "title": f"Unit of WO {correction.work_order_id}",
            "correction": correction, "unit_form": form, "units": units, "building": building,
            "versions": versions[:10], "work_order": versions.filter(is_current=True).first(),
            "can_correct": can_correct and correction.state == UnitCorrection.State.HELD,
            "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False,
            **(extra_context or {}),
        }
        return super().change_view(_as_get(request), object_id, form_url, context)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context.setdefault("title", "Work orders with a unit problem")
        extra_context["fix_unit_ids_url"] = reverse("admin:sync_unitcorrection_fix_unit_ids")
        return super().changelist_view(request, extra_context)

    def fix_unit_ids_view(self, request):
        """Queue fix_unit_ids for the workers: anyone who may view sees the page; queueing a check (dry run)
        needs sync.trigger_sync, the correcting run that and the right to correct units, with a reason."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        reason_form = FixReasonForm(request.POST if request.POST.get("mode") == "apply" else None)
        if request.method == "POST":
            mode = request.POST.get("mode")
            if mode not in ("check", "apply"):
                return HttpResponseNotAllowed(["POST"])
            if not request.user.has_perm("sync.trigger_sync") or (
                    mode == "apply" and not self.has_change_permission(request)):
                raise PermissionDenied
            if mode == "apply" and not reason_form.is_valid():
                messages.error(request, "A reason is required to correct work orders; nothing changed.")
            else:
                reason = reason_form.cleaned_data["reason"] if mode == "apply" else ""
                task_id = tasks.enqueue_fix_unit_ids(dry_run=(mode == "check"), user=request.user,
                                                     reason=reason)
                what = "A check" if mode == "check" else "A correcting run"
                queued_message(request, f"{what} of fix_unit_ids", task_id)
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "fix_unit_ids",
            "results": Task.objects.filter(group=tasks.FIX_UNIT_IDS_GROUP).order_by("-stopped")[:5],
            "reason_form": reason_form, "can_check": request.user.has_perm("sync.trigger_sync"),
            "can_apply": self.has_change_permission(request) and request.user.has_perm("sync.trigger_sync"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sync/unitcorrection/fix_unit_ids.html", context)
