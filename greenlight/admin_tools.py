"""Small building blocks the back-office admin screens share: read-only admins, a reason form, audit
entries in the admin log (who, when, what, why) and the history admin every history-enabled screen uses."""
from __future__ import annotations

import copy

from django import forms
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyAdminMixin:
    """Records the sync writes: staff may look, never add, edit or delete them here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonField(forms.CharField):
    """A required, trimmed reason; blank or whitespace is refused with a clear message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Reason")
        kwargs.setdefault("help_text", "Why you are making this change. Kept in the history.")
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 60}))
        kwargs.setdefault("error_messages", {"required": "A reason is required: say why you are doing this."})
        super().__init__(required=True, strip=True, **kwargs)


class ReasonForm(forms.Form):
    reason: forms.CharField = ReasonField()


def log_change(user, obj, message: str, *, flag: int = CHANGE) -> LogEntry:
    """Record a change made through a screen in the admin log, linked to the object."""
    return LogEntry.objects.log_actions(
        user.pk, [obj], flag, change_message=message, single_object=True
    )


def log_changes(user, objects, message: str, *, flag: int = CHANGE) -> None:
    objects = list(objects)
    if objects:
        LogEntry.objects.log_actions(user.pk, objects, flag, change_message=message,  # type: ignore[call-overload]  # stubs take Literal, not bool
                                     single_object=len(objects) == 1)


def content_type_for(model) -> ContentType:
    return ContentType.objects.get_for_model(model, for_concrete_model=False)


def confirm_with_reason(modeladmin, request, queryset, *, action: str, title: str, verb: str, apply,
                        reason_required: bool = True, note: str = ""):
    """The intermediate page of an admin action that needs a reason (the delete-confirmation pattern).

    The first POST (from the changelist) shows the page; the second, with ``apply``, validates the
    reason and calls ``apply(reason)``. A missing reason re-shows the page with the error and changes
    nothing. Returns None (back to the changelist) once applied.
    """
    from django.contrib.admin import helpers
    from django.template.response import TemplateResponse

    form_class = ReasonForm
    if not reason_required:
        class OptionalReasonForm(ReasonForm):
            reason = forms.CharField(label="Note", required=False, max_length=1000, strip=True,
                                     widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
        form_class = OptionalReasonForm
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            apply(form.cleaned_data["reason"])
            return None
    else:
        form = form_class()
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "verb": verb,
        "note": note,
        "queryset": queryset,
        "form": form,
        "opts": opts,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/greenlight/reason_action.html", context)


class RevertReasonForm(ReasonForm):
    prefix = "revert"


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's admin where reverting is a write like any other.

    The library's revert form saves on POST for anyone who may *view* the history (and
    SIMPLE_HISTORY_REVERT_DISABLED only hides its button), so here a revert needs the model's change
    permission, is refused outright when ``revert_allowed`` is off, and needs a reason that lands in the
    new history row (who, when, why) and in the admin log.
    """

    revert_allowed = True
    object_history_form_template = "admin/greenlight/history_revert_form.html"

    def may_revert(self, request, obj=None) -> bool:
        return self.revert_allowed and self.has_change_permission(request, obj)

    def revert_disabled(self, request, obj=None):
        return not self.may_revert(request, obj) or super().revert_disabled(request, obj)

    def has_change_history_permission(self, request, obj=None):
        return self.may_revert(request, obj) and super().has_change_history_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        current = self.get_object(request, unquote(object_id))
        allowed = self.may_revert(request, current)
        request._gl_reverting = True
        form = RevertReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if current is None or not allowed:
                raise PermissionDenied
            if form.is_valid():
                request._gl_revert = (version_id, form.cleaned_data["reason"])
            else:
                request = _as_get(request)  # re-show the version with the error; nothing is saved
        context = {"revert_form": form if allowed else None, **(extra_context or {})}
        return super().history_form_view(request, object_id, version_id, context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if getattr(request, "_gl_reverting", False):
            # The revert page asks for its own reason; the edit form's reason fields give way to it.
            reasons = {name: forms.CharField(required=False, widget=forms.HiddenInput)
                       for name, field in form.base_fields.items() if isinstance(field, ReasonField)}
            if reasons:
                form = type(form.__name__, (form,), reasons)
        return form

    def save_model(self, request, obj, form, change):
        revert = getattr(request, "_gl_revert", None)
        if revert is not None:
            version_id, reason = revert
            text = (f"Reverted to version {version_id} by {request.user.get_username()} at "
                    f"{timezone.now():%Y-%m-%d %H:%M %Z}. Reason: {reason}")
            field = obj.history.model._meta.get_field("history_change_reason")
            obj._change_reason = text[: field.max_length] if field.max_length else text
        super().save_model(request, obj, form, change)

    def log_change(self, request, obj, message):
        revert = getattr(request, "_gl_revert", None)
        if revert is not None:
            message = f"Reverted to version {revert[0]}. Reason: {revert[1]}"
        return super().log_change(request, obj, message)


def _as_get(request):
    clone = copy.copy(request)
    clone.method = "GET"
    return clone
