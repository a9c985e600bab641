"""Customer-mapping coverage screens: the dashboard's coverage figures, trend and blockers with their
fixes, "record now", and accepting every suggestion above a threshold at once (with a reason)."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from sync.engine.coverage import Blocker, blockers, measure, record_snapshot
from sync.models import CoverageSnapshot
from sync.policies.flags import Flags, read_flags
from sync.policies.suggestions import Suggestion, building_entity, rank
from sync.web.charts import coverage_line_svg
from warehouse.models import CustomerMapping, DimBuilding, SfCustomerCache

TARGET_PERCENT = 95.0  # the business's coverage target (docs/business-rules.md R12)
TREND_DAYS = 90
SHOWN_BLOCKERS = 20
CHANGE_MAPPING = "warehouse.change_customermapping"


def suggestions_for(items: list[Blocker], flags: Flags) -> dict[int, list[Suggestion]]:
    """{building_id: ranked suggestions} for the blocking buildings staff may still map (not those left for
    the sync to create: R11 never matches them again)."""
    left_to_create = set(CustomerMapping.objects.filter(entity_type="building", status="create")
                         .values_list("pw_building_id", flat=True))
    ids = [b.building_id for b in items if b.building_id is not None and b.building_id not in left_to_create]
    if not ids:
        return {}
    parents = dict(CustomerMapping.objects.filter(entity_type="portfolio", status="mapped",
                                                  sf_customer_id__isnull=False)
                   .values_list("pw_portfolio_id", "sf_customer_id"))
    candidates = list(SfCustomerCache.objects.filter(parent_customer_id__in=set(parents.values())).values(
        "sf_customer_id", "name", "parent_customer_id", "custom_fields", "contacts", "locations"))
    out = {}
    for b in DimBuilding.objects.current().filter(building_id__in=ids).values(
            "building_id", "portfolio_id", "name", "address"):
        parent = parents.get(b["portfolio_id"])
        if parent:
            out[b["building_id"]] = rank(building_entity(b, parent), candidates, flags)
    return out


def accepted(threshold_percent: float, flags: Flags) -> list[tuple[Blocker, Suggestion]]:
    """The blocking buildings whose best suggestion scores at least ``threshold_percent``."""
    items = blockers(flags)
    best = suggestions_for(items, flags)
    return [(b, best[b.building_id][0]) for b in items
            if b.building_id in best and best[b.building_id]
            and best[b.building_id][0].score * 100 >= threshold_percent]


def dashboard_coverage(flags: Flags, today=None) -> dict:
    """The dashboard's coverage block: today's figures, the trend chart, the blockers with suggestions."""
    today = today or timezone.localdate()
    now = measure(flags, today)
    since = today - timedelta(days=TREND_DAYS - 1)
    history = {s.day: s for s in CoverageSnapshot.objects.filter(day__gte=since, day__lt=today)}
    history[today] = now  # today's figure is live, whether or not it was recorded yet
    days = sorted(history)
    chart = coverage_line_svg(
        days, {"Buildings mapped": [history[d].buildings_percent for d in days],
               "Open work orders covered": [history[d].work_orders_percent for d in days]},
        target=TARGET_PERCENT, title=f"Customer-mapping coverage, last {TREND_DAYS} days (target "
                                     f"{TARGET_PERCENT:g} %)")
    items = blockers(flags)
    suggestions = suggestions_for(items[:SHOWN_BLOCKERS], flags)
    return {
        "now": now, "target": TARGET_PERCENT, "chart": chart, "blocker_total": len(items),
        "blockers": [{"item": b, "suggestions": suggestions.get(b.building_id or 0, [])}
                     for b in items[:SHOWN_BLOCKERS]],
        "accept_form": AcceptForm(initial={"threshold": 90}),
    }


class AcceptForm(forms.Form):
    threshold = forms.FloatField(min_value=50, max_value=100, label="Score at least (%)")
    # The history keeps 100 characters of a reason; the prefix the mapping adds takes up to 30.
    reason = forms.CharField(max_length=70, label="Reason", help_text="Kept in each mapping's history.")

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why these suggestions are accepted.")
        return reason


def accept_suggestions_view(request):
    """GET: which buildings a threshold would map. POST: map them, each with the staff's reason."""
    if not request.user.has_perm(CHANGE_MAPPING):
        raise PermissionDenied
    flags = read_flags()
    form = AcceptForm(request.POST if request.method == "POST" else request.GET or None)
    rows = accepted(form.cleaned_data["threshold"], flags) if form.is_valid() else []
    if request.method == "POST" and form.is_valid():
        # Imported here: warehouse.admin registers on the admin site, which imports this module.
        from warehouse.admin.unmapped import save_building_mapping

        reason = form.cleaned_data["reason"]
        for blocker, suggestion in rows:
            save_building_mapping(
                request, blocker.building_id or 0, sf_customer_id=suggestion.sf_customer_id, status="mapped",
                method="fuzzy_review", confidence=min(1.0, suggestion.score),
                why=f"accepted suggestion ({suggestion.percent} %): {reason}")
        messages.success(request, f"{len(rows)} building(s) mapped to their suggested SF customer.")
        return HttpResponseRedirect(reverse("admin:index"))
    context = {**_site_context(request), "title": "Accept suggestions", "form": form, "rows": rows}
    return TemplateResponse(request, "admin/greenlight/accept_suggestions.html", context)


@require_POST
def record_coverage_view(request):
    """Record today's coverage snapshot now (it is also recorded at the end of every sync run)."""
    if not request.user.has_perm("sync.trigger_sync"):
        raise PermissionDenied
    snap = record_snapshot(read_flags())
    messages.success(request, f"Coverage recorded for {snap.day.isoformat()}: buildings "
                              f"{snap.buildings_percent} %, open work orders {snap.work_orders_percent} %.")
    return HttpResponseRedirect(reverse("admin:index"))


def _site_context(request) -> dict:
    request.current_app = admin.site.name
    return admin.site.each_context(request)
