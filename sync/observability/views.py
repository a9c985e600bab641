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


def _bearer_matches(request: HttpRequest, *tokens: str) -> bool:
    """True when the request carries ``Authorization: Bearer <one of tokens>`` (empty tokens never match)."""
    sent = request.headers.get("Authorization", "").encode()
    # Every configured token is compared, in constant time, so the answer's timing tells nothing.
    return any([hmac.compare_digest(sent, f"Bearer {t}".encode()) for t in tokens if t])


class MetricsView(PrometheusDjangoView):
    """prometheus-client's own Django view, with a registry that also reads the database at scrape time.

    Scrapers send ``Authorization: Bearer <METRICS_TOKEN>``. With DEBUG off and no token configured the
    endpoint answers 403 saying so, rather than publishing the run history to anyone.
    """

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = getattr(settings, "METRICS_TOKEN", "")
        if token:
            if not _bearer_matches(request, token):
                return HttpResponse("metrics: missing or wrong bearer token\n", status=401,
                                    content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
        elif not (settings.DEBUG or getattr(settings, "METRICS_ALLOW_ANONYMOUS", False)):
            return HttpResponse("metrics: no METRICS_TOKEN is configured; set METRICS_TOKEN (or "
                                "METRICS_TOKEN_FILE) and send it as a bearer token\n", status=403,
                                content_type="text/plain")
        self.registry = scrape_registry()
        return super().get(request, *args, **kwargs)


metrics = never_cache(MetricsView.as_view())


def may_see_health_details(request: HttpRequest) -> bool:
    """Staff, or a holder of HEALTH_TOKEN or METRICS_TOKEN: the details name hosts, roles and errors."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return _bearer_matches(request, getattr(settings, "HEALTH_TOKEN", ""),
                           getattr(settings, "METRICS_TOKEN", ""))


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when every requested check passes, else 503; ``?only=database`` limits the checks (liveness).

    Anonymous callers get the status code and ``{"status": "ok" | "unavailable"}`` only.
    """
    only = [n.strip() for n in request.GET.get("only", "").split(",") if n.strip()]
    try:
        healthy, report = run_checks(only or None)
    except ValueError as exc:
        return JsonResponse({"status": "error", "error": str(exc)}, status=400)
    status = 200 if healthy else 503
    if not may_see_health_details(request):
        return JsonResponse({"status": "ok" if healthy else "unavailable"}, status=status)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": report}, status=status)
