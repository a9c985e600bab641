"""Buildings without an SF customer: each with likely SF customers, a one-click "map" and a
"let the sync create it" (R10-R11: unmapped buildings fail their work orders until one happens)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rapidfuzz import fuzz, process

from warehouse.models import CustomerMapping, DimBuilding, DimPortfolio, SfCustomerCache
from warehouse.queries import unmapped_buildings

SUGGESTIONS = 3
SUGGESTION_CUTOFF = 60  # rapidfuzz score out of 100


def _suggestions(buildings, portfolio_customers: dict[int, int | None]) -> dict[int, list[dict]]:
    """Likely SF customers per building: only children of its portfolio's customer (R10, R11: a customer
    under another portfolio's customer is never its customer; none while the portfolio is unmapped),
    ranked by how closely the name matches the building's street address."""
    parents = {pid for pid in portfolio_customers.values() if pid}
    customers = list(SfCustomerCache.objects.filter(parent_customer_id__in=parents)
                     .values("sf_customer_id", "name", "parent_customer_id"))
    out: dict[int, list[dict]] = {}
    for b in buildings:
        parent = portfolio_customers.get(b.portfolio_id)
        candidates = [c for c in customers if parent and c["parent_customer_id"] == parent]
        names = {i: c["name"] for i, c in enumerate(candidates)}
        target = (b.address or b.name or "").strip()
        matches = process.extract(target, names, scorer=fuzz.token_sort_ratio, limit=SUGGESTIONS,
                                  score_cutoff=SUGGESTION_CUTOFF) if target else []
        out[b.building_id] = [
            {**candidates[key], "score": round(score)} for _name, score, key in matches
        ]
    return out


def save_building_mapping(request, building_id: int, *, sf_customer_id: int | None, status: str, why: str,
                          method: str = "manual", confidence: float | None = None) -> CustomerMapping:
    """Map (or leave to the sync) one building as ``request.user``, the reason kept in the mapping's
    history and the admin log."""
    building = DimBuilding.objects.current().filter(building_id=building_id).first()
    if building is None:
        raise ValueError(f"Building {building_id} is not in the warehouse.")
    with transaction.atomic():
        mapping = CustomerMapping.objects.select_for_update().filter(
            entity_type="building", pw_building_id=building_id).first()
        created = mapping is None
        if mapping is None:
            mapping = CustomerMapping(entity_type="building", pw_building_id=building_id,
                                      pw_portfolio_id=building.portfolio_id)
        mapping.sf_customer_id = sf_customer_id
        mapping.status = status
        mapping.method = method
        mapping.confidence = confidence if confidence is not None else (1.0 if sf_customer_id else 0.0)
        mapping._history_user = request.user  # type: ignore[attr-defined]  # simple_history's hook, untyped
        # simple_history's hook, untyped; its column holds 100 characters (PostgreSQL refuses more).
        mapping._change_reason = why[:100]  # type: ignore[attr-defined]
        mapping.save()
        LogEntry.objects.log_actions(request.user.pk, [mapping], ADDITION if created else CHANGE,
                                     change_message=why, single_object=True)
    return mapping


def _handle_post(model_admin, request):
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    try:
        building_id = int(request.POST.get("building_id", ""))
    except ValueError:
        messages.error(request, "No building was chosen.")
        return
    action = request.POST.get("action")
    try:
        if action == "map":
            raw = (request.POST.get("sf_customer_id") or "").strip()
            if not raw.isdigit():
                messages.error(request, f"Building {building_id}: enter the SF customer id as a number.")
                return
            sf_id = int(raw)
            customer = SfCustomerCache.objects.filter(sf_customer_id=sf_id).first()
            if customer is None:
                messages.error(request, f"Building {building_id} was not mapped: SF customer {sf_id} is "
                                        "unknown (not among the customers the last sync read).")
                return
            save_building_mapping(request, building_id, sf_customer_id=sf_id, status="mapped",
                                   why=f"mapped by staff to SF customer {sf_id} ({customer.name})")
            messages.success(request, f"Building {building_id} is now mapped to {customer.name} "
                                      f"(SF customer {sf_id}).")
        elif action == "create":
            save_building_mapping(request, building_id, sf_customer_id=None, status="create",
                                   why="staff let the sync create the SF customer")
            messages.success(request, f"Building {building_id}: the next sync will create its SF customer.")
        else:
            messages.error(request, "Unknown action.")
    except ValueError as exc:
        messages.error(request, str(exc))


def unmapped_buildings_view(model_admin, request):
    if request.method == "POST":
        _handle_post(model_admin, request)
        # The dashboard's "let the sync create it" comes back to the dashboard.
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = request.get_full_path()
        return HttpResponseRedirect(back)

    query = (request.GET.get("q") or "").strip()
    buildings = unmapped_buildings().order_by("portfolio_id", "building_id")
    if query:
        term = Q(name__icontains=query) | Q(address__icontains=query) | Q(city__icontains=query)
        if query.isdigit():
            term |= Q(building_id=int(query)) | Q(portfolio_id=int(query))
        buildings = buildings.filter(term)
    page = Paginator(buildings, 50).get_page(request.GET.get("p"))
    rows = list(page.object_list)
    portfolio_ids = {b.portfolio_id for b in rows}
    portfolios = dict(DimPortfolio.objects.current().filter(portfolio_id__in=portfolio_ids)
                      .values_list("portfolio_id", "name"))
    portfolio_customers = dict(CustomerMapping.objects.filter(
        entity_type="portfolio", pw_portfolio_id__in=portfolio_ids).values_list("pw_portfolio_id",
                                                                                "sf_customer_id"))
    statuses = dict(CustomerMapping.objects.filter(
        entity_type="building", pw_building_id__in=[b.building_id for b in rows]
    ).values_list("pw_building_id", "status"))
    suggestions = _suggestions(rows, portfolio_customers)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Unmapped buildings",
        "page": page,
        "total": page.paginator.count,
        "query": query,
        "can_change": model_admin.has_change_permission(request),
        "rows": [
            {"building": b, "portfolio_name": portfolios.get(b.portfolio_id, ""),
             "portfolio_customer": portfolio_customers.get(b.portfolio_id),
             "status": statuses.get(b.building_id, "no mapping"),
             "suggestions": suggestions.get(b.building_id, [])}
            for b in rows
        ],
        "changelist_url": reverse("admin:warehouse_customermapping_changelist"),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/warehouse/customermapping/unmapped.html", context)
