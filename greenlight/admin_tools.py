"""Small building blocks the back-office admin screens share: read-only admins, a reason form, and
audit entries in Django's admin log (who, when, what, why)."""
from __future__ import annotations

from django import forms
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType


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
