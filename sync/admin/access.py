"""API tokens for the HTTP trigger: issued with a reason (shown once), revoked with a reason, never edited."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION
from django.template.response import TemplateResponse

from greenlight.admin_tools import GuardedHistoryAdmin, ReasonField, confirm_with_reason, log_change
from sync.models import ApiToken


class IssueTokenForm(forms.ModelForm):
    """The add form: who the token is for, and why it is issued (kept in the history and the admin log)."""

    reason = ReasonField(help_text="Why this system needs a token, e.g. the ticket. Kept in the history.")

    class Meta:
        model = ApiToken
        fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(GuardedHistoryAdmin):
    revert_allowed = False  # a revert could make a revoked token active again
    list_display = ("name", "prefix", "is_active", "created_by", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("created_by", "revoked_by")
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    fields = ("name",)
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at", "revoked_by")

    @admin.display(boolean=True, description="Active")
    def is_active(self, obj):
        return obj.is_active

    def get_fields(self, request, obj=None):
        return ("name", "reason") if obj is None else ("name", *self.readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = IssueTokenForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("name", *self.readonly_fields)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row and its history stay for the audit

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            request._issued_token = obj.assign_new_secret()
            obj._change_reason = form.cleaned_data["reason"]  # simple_history's hook: the version's why
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        reason = getattr(obj, "_change_reason", "")
        return log_change(request.user, obj, f"Issued. Reason: {reason}", flag=ADDITION)

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_issued_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "token": token, "obj": obj,
                   "title": "API token created"}
        response = TemplateResponse(request, "admin/sync/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"  # the only copy of the token must not be cached
        return response

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        active = queryset.filter(revoked_at__isnull=True)

        def apply(reason):
            for token in active:
                token.revoke(user=request.user, reason=reason)
                log_change(request.user, token, f"Revoked. Reason: {reason}")
            self.message_user(request, f"Revoked {len(active)} token(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, active, action="revoke", title="Revoke API tokens",
                                   verb="Revoke", apply=apply,
                                   note="Systems using these tokens will be refused from now on.")
