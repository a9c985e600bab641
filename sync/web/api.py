"""HTTP endpoint other systems use to start a sync run: POST /api/sync/trigger with a bearer token
(parameters in docs/back-office.md).
"""
from __future__ import annotations

import json
import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sync.engine import tasks
from sync.engine.pipeline import get_step
from sync.models import ApiToken, SyncRun

log = logging.getLogger(__name__)


class BadRequest(ValueError):
    pass


def _bool(data: dict, name: str) -> bool | None:
    raw = data.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    lowered = str(raw).strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise BadRequest(f"{name}: expected true or false, got {raw!r}")


# Parameters (JSON body or form fields): ``dry_run`` true/false (absent: the DRY_RUN flag decides),
# ``mode`` "queue" (default: a django-q2 task runs it) or "now" (run in this request and report the run),
# ``full`` true/false, ``steps`` a list of step names (absent: every step).
def _params(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"body: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise BadRequest("body: expected a JSON object")
    else:
        data = {key: request.POST.get(key) for key in request.POST}
        if "steps" in request.POST:
            data["steps"] = [s for s in request.POST.getlist("steps") for s in s.split(",") if s]
    unknown = set(data) - {"dry_run", "mode", "full", "steps"}
    if unknown:
        raise BadRequest(f"unknown parameters: {', '.join(sorted(unknown))}")
    mode = (data.get("mode") or "queue").strip().lower()
    if mode not in ("queue", "now"):
        raise BadRequest(f"mode: expected queue or now, got {data.get('mode')!r}")
    steps = data.get("steps") or None
    if steps is not None and (not isinstance(steps, list) or not all(isinstance(s, str) for s in steps)):
        raise BadRequest("steps: expected a list of step names")
    if steps:
        try:
            steps = [get_step(s).name for s in steps]
        except ValueError as exc:
            raise BadRequest(f"steps: {exc}") from None
    return {"dry_run": _bool(data, "dry_run"), "full": bool(_bool(data, "full")), "mode": mode,
            "steps": steps}


def _unauthorized(message: str, *, invalid: bool) -> JsonResponse:
    response = JsonResponse({"error": message}, status=401)
    challenge = 'Bearer realm="greenlight"' + (', error="invalid_token"' if invalid else "")
    response["WWW-Authenticate"] = challenge
    return response


@csrf_exempt  # token-authenticated, never cookie-authenticated: there is no session to forge
@require_POST
def trigger_sync(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("an API token is required (Authorization: Bearer <token>)", invalid=False)
    api_token = ApiToken.authenticate(token.strip())
    if api_token is None:
        return _unauthorized("the API token is unknown or revoked", invalid=True)
    try:
        params = _params(request)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)

    trigger = "api"
    log.info("sync triggered over HTTP by token %s (mode=%s, dry_run=%s)", api_token.name,
             params["mode"], params["dry_run"])
    if params["mode"] == "queue":
        task_id = tasks.enqueue_sync(steps=params["steps"], dry_run=params["dry_run"], full=params["full"],
                                     trigger=trigger)
        return JsonResponse({"queued": True, "task_id": task_id, "dry_run": params["dry_run"]}, status=202)

    run = SyncRun.objects.get(pk=tasks.run_pipeline(steps=params["steps"], dry_run=params["dry_run"],
                                                    full=params["full"], trigger=trigger))
    # R4: a run refused because another holds the sync lock is a conflict for the caller.
    status = 409 if run.status == SyncRun.Status.REFUSED else 200
    return JsonResponse(run_summary(run), status=status)


def run_summary(run) -> dict:
    """A run's outcome as JSON: id, status, dry run, timings and per-step status and counts."""
    return {
        "run_id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": run.counts,
        "error_summary": run.error_summary,
        "steps": [
            {"name": step.name, "status": step.status, "counts": step.counts}
            for step in run.steps.all().order_by("pk")
        ],
    }
