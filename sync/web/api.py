"""The HTTP API other systems use, with a bearer token: POST /api/sync/trigger queues a sync run and
answers 202 with a status URL; GET /api/sync/tasks/<task_id> answers its state (docs/back-office.md)."""
from __future__ import annotations

import json
import logging
import re

from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs pinned

from sync.engine import queued, tasks
from sync.engine.pipeline import get_step
from sync.engine.progress import run_progress
from sync.models import ApiToken, QueuedTask

log = logging.getLogger(__name__)


class BadRequest(ValueError):
    """The caller's request is malformed; ``status`` is the HTTP answer (400, 413 or 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# A trigger's parameters fit in a few hundred bytes and two levels of nesting (the body, the steps list):
# anything far beyond is refused before it is parsed or walked.
MAX_BODY_BYTES = 8 * 1024
MAX_DEPTH = 3
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PARAMETERS = ("dry_run", "mode", "full", "steps")

# Types only (values are checked below, with messages naming the parameter): jsonschema reports the
# first mismatch with its path.
SCHEMA = {
    "type": "object",
    "properties": {
        "dry_run": {"type": ["boolean", "string", "null"], "maxLength": 10, "description": "true or false"},
        "full": {"type": ["boolean", "string", "null"], "maxLength": 10, "description": "true or false"},
        "mode": {"type": ["string", "null"], "maxLength": 10, "description": "queue or now"},
        "steps": {"type": ["array", "null"], "maxItems": 50, "description": "a list of step names",
                  "items": {"type": "string", "maxLength": 100, "description": "a step name"}},
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def _depth(value) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _check_types(data: dict) -> None:
    for error in _VALIDATOR.iter_errors(data):
        where = ".".join(str(p) for p in error.path) or "body"
        if error.validator in ("type", "maxLength", "maxItems"):
            expected = error.schema.get("description", "")
            problem = (f"expected {expected}, got {_JSON_TYPES.get(type(error.instance), 'a value')}"
                       if error.validator == "type" else f"too long ({error.message})")
            raise BadRequest(f"{where}: {problem}")
        raise BadRequest(f"{where}: {error.message}")


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except RecursionError:
        raise BadRequest(f"body: nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest(f"body: expected a JSON object, got {_JSON_TYPES.get(type(data), 'a value')}")
    if _depth(data) > MAX_DEPTH:
        raise BadRequest(f"body: nested more than {MAX_DEPTH} levels deep")
    return data


def _bool(data: dict, name: str) -> bool | None:
    raw = data.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    lowered = str(raw).strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise BadRequest(f"{name}: expected true or false, got {str(raw)[:20]!r}")


# Parameters (JSON body or form fields): ``dry_run`` true/false (absent: the DRY_RUN flag decides),
# ``mode`` "queue" (the default) or "now" (deprecated: it used to run the sync inside the request, longer
# than any web timeout; now it is queued like "queue" and the answer says so), ``full`` true/false,
# ``steps`` a list of step names (absent: every step).
def _params(request) -> dict:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        raise BadRequest(f"body: larger than {MAX_BODY_BYTES} bytes", status=413)
    if request.content_type == "application/json":
        data = _json_body(request)
    elif request.content_type in FORM_TYPES or not request.body:
        data = {key: request.POST.get(key) for key in request.POST}
        if "steps" in request.POST:
            data["steps"] = [s for s in request.POST.getlist("steps") for s in s.split(",") if s]
    else:
        raise BadRequest(f"Content-Type {request.content_type!r} is not accepted; send application/json "
                         "(or form fields)", status=415)
    unknown = set(data) - set(PARAMETERS)
    if unknown:
        shown = ", ".join(sorted(str(k)[:40] for k in unknown)[:10])
        raise BadRequest(f"unknown parameters: {shown}; accepted: {', '.join(PARAMETERS)}")
    _check_types(data)
    mode = (data.get("mode") or "queue").strip().lower()
    if mode not in ("queue", "now"):
        raise BadRequest(f"mode: expected queue or now, got {data.get('mode')!r}")
    steps = data.get("steps") or None
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


#: What a caller of ``mode=now`` is told: the sync no longer runs inside the request.
NOW_NOTICE = ("mode=now is deprecated: a sync no longer runs inside the web request (it outlasts the web "
              "timeout). It was queued like mode=queue; follow status_url until state is done or failed.")
#: django-q2's task ids are 32 lowercase hexadecimal characters (a uuid4 without dashes).
TASK_ID = re.compile(r"[0-9a-f]{32}")
#: How soon a caller polling a queued or running task should ask again (seconds).
POLL_SECONDS = 5


def _authenticate(request) -> ApiToken | JsonResponse:
    """The request's active API token, or the 401 that says what is wrong."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("an API token is required (Authorization: Bearer <token>)", invalid=False)
    api_token = ApiToken.authenticate(token.strip())
    if api_token is None:
        return _unauthorized("the API token is unknown or revoked", invalid=True)
    return api_token


@csrf_exempt  # token-authenticated, never cookie-authenticated: there is no session to forge
@require_POST
def trigger_sync(request):
    """Queue a sync run; 202 with the status URL (``Location`` and ``status_url``). Never runs it here."""
    api_token = _authenticate(request)
    if isinstance(api_token, JsonResponse):
        return api_token
    try:
        params = _params(request)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)

    log.info("sync triggered over HTTP by token %s (mode=%s, dry_run=%s)", api_token.name,
             params["mode"], params["dry_run"])
    task_id = tasks.enqueue_sync(steps=params["steps"], dry_run=params["dry_run"], full=params["full"],
                                 trigger="api", via=f"API token {api_token.name}")
    status_url = request.build_absolute_uri(reverse("api-sync-task", args=[task_id]))
    body = {"queued": True, "task_id": task_id, "state": "queued", "status_url": status_url,
            "mode": "queue", "dry_run": params["dry_run"], "full": params["full"], "steps": params["steps"]}
    if params["mode"] == "now":
        body["notice"] = NOW_NOTICE
    response = JsonResponse(body, status=202)
    response["Location"] = status_url
    return response


@require_GET
def task_status(request, task_id: str):
    """A queued task's state (queued, running, done, failed) and, once it exists, its run."""
    api_token = _authenticate(request)
    if isinstance(api_token, JsonResponse):
        return api_token
    if not TASK_ID.fullmatch(task_id):
        return JsonResponse({"error": f"task id: expected 32 lowercase hexadecimal characters, got "
                                      f"{task_id[:40]!r}"}, status=400)
    row = QueuedTask.objects.select_related("run").filter(task_id=task_id).first()
    if row is None:
        return JsonResponse({"error": f"no queued task has the id {task_id}"}, status=404)
    body = queued.status(row)
    body["run"] = None
    if row.run is not None:
        run_url = request.build_absolute_uri(reverse("admin:sync_syncrun_change", args=[row.run.pk]))
        body["run"] = {**run_summary(row.run), "url": run_url,
                       "progress": run_progress(row.run)}
    response = JsonResponse(body)
    if body["state"] in (QueuedTask.State.QUEUED, QueuedTask.State.RUNNING):
        response["Retry-After"] = str(POLL_SECONDS)
    return response


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
