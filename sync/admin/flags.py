"""Feature flags: every flag with its current value, a change form that requires a reason, and the
history of every change (who, when, why, before and after). Changes go through
``sync.policies.flags.set_flag``, the same strict parsing the runs use."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from greenlight.admin_tools import ReasonField, log_change
from sync.models import FeatureFlag
from sync.policies.flags import FLAGS, FlagError, flag_table, set_flag, spec_for

# Flags a person on call most often needs; listed first on the page.
PROMINENT = ("DRY_RUN", "SAFE_MODE", "ENABLE_SERVICE_FUSION", "SYNC_SCHEDULE_ENABLED")


class FlagChangeForm(forms.Form):
    value = forms.CharField(label="New value", strip=True, required=True)
    reason = ReasonField()

    def __init__(self, *args, spec, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        if spec.type == "bool":
            self.fields["value"] = forms.ChoiceField(label="New value", choices=[("true", "true"),
                                                                                 ("false", "false")])
        elif spec.type == "status list":
            self.fields["value"].widget = forms.Textarea(attrs={"rows": 3, "cols": 80})
            self.fields["value"].help_text = "Comma-separated statuses, case-insensitive."
        if spec.bounds:
            self.fields["value"].help_text = f"From {spec.bounds}."
        if spec.type != "bool":
            self.fields["value"].required = spec.type != "text"

    def clean_value(self):
        value = self.cleaned_data.get("value", "")
        try:
            return self.spec.to_text(value)
        except FlagError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    """The changelist is replaced by a page of all flags (rows exist only for flags that were set)."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a row would silently restore the default, without a reason

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.flags_view), name="{}_{}_changelist".format(*info)),
            path("history/", wrap(self.all_history_view), name="{}_{}_allhistory".format(*info)),
            path("<str:name>/set/", wrap(self.set_view), name="{}_{}_set".format(*info)),
            path("<path:object_id>/change/", wrap(self.change_redirect), name="{}_{}_change".format(*info)),
        ]

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.opts, **extra}

    def flags_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rows = flag_table()
        rows.sort(key=lambda r: (r["name"] not in PROMINENT, PROMINENT.index(r["name"])
                                 if r["name"] in PROMINENT else 0, r["name"]))
        latest: dict[str, Any] = {}
        for h in (FeatureFlag.history.select_related("history_user").order_by("-history_date")[:200]):
            latest.setdefault(h.name, h)
        for row in rows:
            row["is_default"] = row["value"] is None
            row["effective"] = row["default"] if row["value"] is None else row["value"]
            row["last_change"] = latest.get(row["name"])
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sync/featureflag/flags.html", self._context(
            request, title="Feature flags", rows=rows, can_change=self.has_change_permission(request),
            history_url=reverse("admin:sync_featureflag_allhistory")))

    def set_view(self, request, name: str):
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            spec = spec_for(name)
        except FlagError:
            raise Http404(f"No flag called {name}") from None
        if spec.name != name:
            return HttpResponseRedirect(reverse("admin:sync_featureflag_set", args=[spec.name]))
        current = next(r for r in flag_table() if r["name"] == spec.name)
        effective = current["value"] if current["value"] is not None else spec.default
        form = FlagChangeForm(request.POST or None, spec=spec, initial={"value": effective})
        if request.method == "POST" and form.is_valid():
            new, reason = form.cleaned_data["value"], form.cleaned_data["reason"]
            if new == effective and current["value"] is not None:
                messages.info(request, f"{spec.name} is already {new}; nothing changed.")
                return HttpResponseRedirect(reverse("admin:sync_featureflag_changelist"))
            try:
                set_flag(spec.name, new, user=request.user, reason=reason)
            except FlagError as exc:
                form.add_error("value", str(exc))
            else:
                flag = FeatureFlag.objects.get(name=spec.name)
                log_change(request.user, flag, f"{spec.name}: {effective} → {new}. Reason: {reason}",
                           flag=ADDITION if current["value"] is None else CHANGE)
                messages.success(request, f"{spec.name} is now {new}. The next step of a run reads it.")
                return HttpResponseRedirect(reverse("admin:sync_featureflag_changelist"))
        history = FeatureFlag.history.filter(name=spec.name).select_related("history_user") \
            .order_by("-history_date")[:50]
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sync/featureflag/set.html", self._context(
            request, title=f"Change {spec.name}", spec=spec, form=form, effective=effective,
            is_default=current["value"] is None, history=history))

    def all_history_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        changes = FeatureFlag.history.select_related("history_user").order_by("-history_date", "-history_id")
        chosen = request.GET.get("flag", "")
        if chosen:
            changes = changes.filter(name=chosen)
        page = Paginator(changes, 50).get_page(request.GET.get("p"))
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sync/featureflag/history.html", self._context(
            request, title="Feature flag history", page=page, chosen=chosen,
            names=[s.name for s in FLAGS]))

    def change_redirect(self, request, object_id):
        flag = FeatureFlag.objects.filter(pk=object_id).first()
        if flag is None:
            raise Http404
        return HttpResponseRedirect(reverse("admin:sync_featureflag_set", args=[flag.name]))
