"""HTTP endpoints for operators and infrastructure: ``/metrics`` (Prometheus) and ``/health/``."""
from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.django import PrometheusDjangoView

from .health import run_checks
from .metrics import scrape_registry


class MetricsView(PrometheusDjangoView):
    """prometheus-client's own Django view, with a registry that also reads the database at scrape time.

    When METRICS_TOKEN is set, scrapers must send ``Authorization: Bearer <token>``.
    """

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = getattr(settings, "METRICS_TOKEN", "")
        if token:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return HttpResponse("metrics: missing or wrong bearer token\n", status=401,
                                    content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
        self.registry = scrape_registry()
        return super().get(request, *args, **kwargs)


metrics = never_cache(MetricsView.as_view())


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when every requested check passes, else 503; ``?only=database`` limits the checks (liveness)."""
    only = [n.strip() for n in request.GET.get("only", "").split(",") if n.strip()]
    try:
        healthy, report = run_checks(only or None)
    except ValueError as exc:
        return JsonResponse({"status": "error", "error": str(exc)}, status=400)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": report},
                        status=200 if healthy else 503)
