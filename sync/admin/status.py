"""Status mappings (SF job status → PW status, closed or not) and the open-status list, editable with
a reason and an audited history."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse

from greenlight.admin_tools import GuardedHistoryAdmin, ReasonField
from sync.models import StatusMapping
from sync.policies.flags import read_flags


class StatusMappingForm(forms.ModelForm):
    change_reason = ReasonField(help_text="Why you are adding or changing this mapping. Kept in its history.")

    class Meta:
        model = StatusMapping
        fields = ("sf_status", "sf_code", "sf_category", "pw_status", "is_closed", "note")


@admin.register(StatusMapping)
class StatusMappingAdmin(GuardedHistoryAdmin):
    form = StatusMappingForm
    list_display = ("sf_status", "sf_code", "sf_category", "pw_status", "is_closed", "updated_at")
    list_filter = ("is_closed", "sf_category")
    search_fields = ("sf_status", "sf_code", "pw_status")
    history_list_display = ("sf_status", "pw_status", "is_closed")
    change_list_template = "admin/sync/statusmapping/change_list.html"

    def has_delete_permission(self, request, obj=None):
        return False  # a deleted row's history would lose its reason; edit it instead

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["change_reason"]
        super().save_model(request, obj, form, change)

    def construct_change_message(self, request, form, formsets, add=False):
        # A plain-text message (the admin log shows it as is) that carries the reason.
        changed = [name for name in form.changed_data if name != "change_reason"]
        what = "Added" if add else ("Changed " + ", ".join(changed) if changed else "No fields changed")
        return f"{what}. Reason: {form.cleaned_data['change_reason']}"

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["open_statuses"] = sorted(read_flags().pw_open_statuses)
        extra_context["open_statuses_url"] = reverse("admin:sync_featureflag_set", args=["PW_OPEN_STATUSES"])
        extra_context["can_edit_open_statuses"] = request.user.has_perm("sync.change_featureflag")
        return super().changelist_view(request, extra_context)
