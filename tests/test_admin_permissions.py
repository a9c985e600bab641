"""Every admin screen, for every staff group and a staff user in no group, GET and POST: whoever lacks the
right is refused (403, or sent to the login page) or the data is left exactly as it was. The screens are
read from the admin site's registry and URL patterns at test time, so a screen added later is walked too."""
from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from greenlight.admin_tools import GuardedHistoryAdmin
from sync.admin.groups import MAPPING_EDITORS, OPERATORS, VIEWERS
from tests.admin_support import seed_review_queues, seed_runs, seed_warehouse, staff_user

pytestmark = pytest.mark.django_db

ROLES = (VIEWERS, OPERATORS, MAPPING_EDITORS, None)  # None: staff, in no group
SNAPSHOT_APPS = ("sync", "warehouse", "django_q", "admin", "auth", "axes")
STANDARD = ("changelist", "add", "change", "delete", "history", "simple_history")
# Django's own site views: login, index and the like write nothing of the back office.
SITE_BUILTINS = {"index", "login", "logout", "password_change", "password_change_done", "autocomplete",
                 "jsi18n", "view_on_site", "app_list", None}
# Action permissions that are not a model's add/change/delete/view.
ACTION_PERMISSIONS = {"trigger": "sync.trigger_sync"}
# Whatever a form may ask for, so an allowed POST would really write.
WALK_FIELDS = {"reason": "permission walk", "revert-reason": "permission walk", "change_reason": "walk",
               "note": "walk", "decision": "link", "unit": "building", "apply": "1", "post": "yes"}

# Every custom admin view (a get_urls addition of a ModelAdmin or of the site) declares what each method
# needs; "view" is the model's view permission. A view missing here fails the walk.
WO = "warehouse.view_factworkorder"


def _first(model: str, field: str) -> int:
    """The id of a seeded row, for a site view that shows one object."""
    return apps.get_model("warehouse", model).objects.order_by("pk").values_list(field, flat=True).first()


CUSTOM_VIEWS: dict[str, dict] = {
    "sync_now": {"GET": ["sync.trigger_sync"], "POST": ["sync.trigger_sync"], "data": {"dry_run": "false"}},
    "sync_queued_task": {"GET": ["sync.view_queuedtask"], "POST": ["sync.view_queuedtask"],
                         "site_args": lambda: ["a" * 32]},  # the task seed() queues
    "coverage_accept": {"GET": ["warehouse.change_customermapping"],
                        "POST": ["warehouse.change_customermapping"], "data": {"threshold": "50"}},
    "coverage_record": {"GET": ["sync.trigger_sync"], "POST": ["sync.trigger_sync"]},
    # The analytics screens read only: seeing them needs the view right on what they chart.
    "analytics_open_by_portfolio": {"GET": [WO], "POST": [WO]},
    "analytics_time_in_status": {"GET": [WO], "POST": [WO]},
    "analytics_sla_ages": {"GET": [WO], "POST": [WO]},
    "analytics_jobs_per_day": {"GET": ["warehouse.view_factjob"], "POST": ["warehouse.view_factjob"]},
    "analytics_work_order": {"GET": [WO], "POST": [WO], "site_args": lambda: [_first("FactWorkOrder",
                                                                                      "work_order_id")]},
    "analytics_portfolio": {"GET": [WO, "warehouse.view_dimbuilding"],
                            "POST": [WO, "warehouse.view_dimbuilding"],
                            "site_args": lambda: [_first("DimPortfolio", "portfolio_id")]},
    "sync_featureflag_allhistory": {"GET": "view", "POST": "view"},
    # A run's progress (JSON), polled by its page: reading it needs the view right on runs.
    "sync_syncrun_progress": {"GET": "view", "POST": "view", "args": lambda obj: [obj.pk]},
    "sync_featureflag_set": {"GET": ["sync.change_featureflag"], "POST": ["sync.change_featureflag"],
                             "args": lambda obj: [obj.name], "data": {"value": "true"}},
    "sync_unitcorrection_fix_unit_ids": {"GET": "view", "POST": ["sync.trigger_sync"],
                                         "data": {"mode": "check"}},
    "auth_user_password_change": {"GET": ["auth.change_user"], "POST": ["auth.change_user"],
                                  "args": lambda obj: [obj.pk],
                                  "data": {"password1": "Walk-pw-98765!", "password2": "Walk-pw-98765!"}},
    "warehouse_customermapping_unmapped": {
        "GET": "view", "POST": ["warehouse.change_customermapping"],
        "data": {"action": "map", "building_id": "102", "sf_customer_id": "5002"}},
    "warehouse_customermapping_import": {"GET": ["warehouse.import_customermapping"],
                                         "POST": ["warehouse.import_customermapping"]},
    "warehouse_customermapping_process_import": {"GET": ["warehouse.import_customermapping"],
                                                 "POST": ["warehouse.import_customermapping"]},
    "warehouse_customermapping_export": {"GET": ["warehouse.export_customermapping"],
                                         "POST": ["warehouse.export_customermapping"],
                                         "data": {"format": "0"}},
    "warehouse_mappingimport_confirm": {"GET": ["warehouse.import_customermapping"],
                                        "POST": ["warehouse.import_customermapping"],
                                        "args": lambda obj: [obj.pk]},
}


def seed(superuser) -> None:
    """At least one row behind every screen, and two versions of every object with history."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_q.models import OrmQ, Schedule, Task

    from greenlight.admin_tools import log_change
    from sync.engine.tasks import ensure_schedule
    from sync.models import Alert, ApiToken, FreshnessState, QueuedTask, StatusMapping
    from sync.policies.flags import set_flag
    from warehouse.models import CustomerMapping, MappingImport, UnitMapping

    seed_warehouse()
    seed_review_queues()
    seed_runs()
    token, _ = ApiToken.issue("portal", user=superuser)
    token.revoke(user=superuser, reason="leaked")
    mapping = StatusMapping.objects.order_by("pk").first()  # the migration's rows have no history yet
    for closed in (not mapping.is_closed, mapping.is_closed):
        mapping.is_closed = closed
        mapping.save()
    building = CustomerMapping.objects.get(pw_building_id=101)
    building.sf_customer_id = 5002
    building.save()
    set_flag("DRY_RUN", "true", user=superuser, reason="seed")
    UnitMapping.objects.create(pw_unit_id=1011, pw_building_id=101, sf_customer_id=5001,
                               location_nickname="Apt 1", status="mapped")
    MappingImport.objects.create(file_name="m.csv", file_format="csv", content=b"a", row_count=1,
                                 created_by=superuser, state=MappingImport.State.READY)
    now = timezone.now()
    for task_id, success in (("ok1", True), ("bad1", False)):
        Task.objects.create(id=task_id, name=f"task {task_id}", func="sync.engine.tasks.run_pipeline",
                            kwargs={"full": True, "dry_run": False, "trigger": "manual",
                                    "user_id": superuser.pk}, group="greenlight-sync",
                            started=now - dt.timedelta(minutes=5), stopped=now, success=success)
    ensure_schedule()
    assert Schedule.objects.exists()
    Alert.objects.create(condition="run_failed", message="seed")
    QueuedTask.objects.create(task_id="a" * 32, kind="sync", label="sync all steps")
    FreshnessState.objects.create(name="freshness", runs=1, skipped_overlap=1)
    log_change(superuser, token, "Revoked. Reason: leaked")
    OrmQ.objects.create(key="greenlight", payload="x", lock=now)
    # django-axes' lockout records (staff unlock an account by deleting its attempt row).
    AccessAttempt.objects.create(username="locked", ip_address="127.0.0.1", user_agent="test",
                                 failures_since_start=5, get_data="", post_data="", http_accept="",
                                 path_info="/admin/login/")
    AccessLog.objects.create(username="someone", ip_address="127.0.0.1", user_agent="test",
                             http_accept="", path_info="/admin/login/")
    AccessFailureLog.objects.create(username="locked", ip_address="127.0.0.1", user_agent="test",
                                    http_accept="", path_info="/admin/login/", locked_out=True)


def snapshot() -> dict:
    """Every row of the back office's tables (sessions aside), to compare before and after a request."""
    out = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in SNAPSHOT_APPS and not model._meta.proxy:
            out[model._meta.label] = sorted(map(repr, model._base_manager.values_list()))
    return out


def permission_names(action: str, model) -> tuple[str, ...]:
    """A proxy model's permission, or its concrete model's (DeadLetter is an OutboxItem)."""
    names = {f"{m._meta.app_label}.{get_permission_codename(action, m._meta)}"
             for m in (model, model._meta.concrete_model)}
    return tuple(sorted(names))


def holds(user, names: tuple[str, ...]) -> bool:
    return any(user.has_perm(name) for name in names)


def _request(user, method="get"):
    request = getattr(RequestFactory(), method)("/admin/")
    request.user = user
    return request


def form_payload(response) -> dict:
    """The values a page's admin form (and its inline formsets) would post back unchanged."""
    context = response.context or {}
    found = [context["adminform"].form] if "adminform" in context else []
    for inline in context.get("inline_admin_formsets", []):
        found += [inline.formset.management_form, *inline.formset.forms]
    data: dict = {}
    for form in found:
        for name, field in form.fields.items():
            bound, widget = form[name], field.widget
            value = bound.value()
            if field.disabled:
                continue
            if isinstance(widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(widget, forms.MultiWidget):
                parts = value if isinstance(value, list | tuple) else widget.decompress(value)
                for suffix, part in zip(widget.widgets_names, parts, strict=False):
                    data[bound.html_name + suffix] = "" if part is None else str(part)
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def admin_says(model_admin, what: str, obj=None, *, needs: tuple[str, ...] = ()):
    """The right as the ModelAdmin states it, and the model's own permission ``needs`` besides."""
    def right(user) -> bool:
        check = getattr(model_admin, f"has_{what}_permission")
        allowed = check(_request(user)) if what == "add" else check(_request(user), obj)
        return allowed and (not needs or holds(user, needs))
    return right


def all_of(names):
    return lambda user: all(user.has_perm(name) for name in names)


def model_steps(site, model, model_admin, obj, undeclared: list) -> list[dict]:
    opts = model._meta
    perm = {a: permission_names(a, model) for a in ("add", "change", "delete", "view")}
    view = admin_says(model_admin, "view_or_change", obj)
    change = admin_says(model_admin, "change", obj, needs=perm["change"])
    steps: list[dict] = []
    for pattern in model_admin.get_urls():
        name = pattern.name
        if name is None:
            assert str(pattern.pattern) == "<path:object_id>/", f"unnamed admin URL {pattern.pattern}"
            continue
        kind, url_name = name.removeprefix(f"{opts.app_label}_{opts.model_name}_"), f"{site.name}:{name}"
        if kind == "changelist":
            steps.append({"url": reverse(url_name), "GET": view,
                          "POST": admin_says(model_admin, "change", needs=perm["change"])})
        elif kind == "add":
            add = admin_says(model_admin, "add", needs=perm["add"])
            steps.append({"url": reverse(url_name), "GET": add, "POST": add, "harvest": True})
        elif kind in ("change", "history"):
            steps.append({"url": reverse(url_name, args=[obj.pk]), "GET": view, "POST": change,
                          "harvest": True})
        elif kind == "delete":
            delete = admin_says(model_admin, "delete", obj, needs=perm["delete"])
            steps.append({"url": reverse(url_name, args=[obj.pk]), "GET": delete, "POST": delete})
        elif kind == "simple_history":
            assert isinstance(model_admin, GuardedHistoryAdmin), f"{opts.label}: history admin without guard"
            version = obj.history.order_by("history_id").first()
            assert version is not None, f"seed() gives {opts.label} no history to revert to"
            revert = (lambda u: False) if not model_admin.revert_allowed else change
            steps.append({"url": reverse(url_name, args=[obj.pk, version.history_id]), "GET": view,
                          "POST": revert, "harvest": True})
        elif name in CUSTOM_VIEWS:
            spec = CUSTOM_VIEWS[name]
            steps.append({"url": reverse(url_name, args=spec.get("args", lambda o: [])(obj)),
                          "data": spec.get("data", {}),
                          **{m: view if spec[m] == "view" else all_of(spec[m]) for m in ("GET", "POST")}})
        else:
            undeclared.append(name)
    changelist = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")
    for func, action, _ in model_admin._get_base_actions():
        allowed = getattr(func, "allowed_permissions", ())
        assert set(allowed) - {"view"}, f"{opts.label}: the action {action} needs no right to write"
        required = [perm.get(p) or (ACTION_PERMISSIONS[p],) for p in allowed]
        steps.append({"url": changelist, "methods": ("POST",), "label": f"action {action}",
                      "POST": lambda u, r=required: view(u) and all(holds(u, names) for names in r),
                      "data": {"action": action, "_selected_action": [str(obj.pk)], "select_across": "0"}})
    return steps


def walk(site, boss) -> list[dict]:
    """The url, methods, data and right (a function of the user) of every admin endpoint: standard views,
    history and revert, actions, and the custom views of each ModelAdmin and of the site."""
    steps: list[dict] = []
    undeclared: list[str] = []
    for model, model_admin in site._registry.items():
        obj = model_admin.get_queryset(_request(boss)).order_by("pk").first()
        assert obj is not None, f"seed() makes no {model._meta.label} row: its pages would not be walked"
        steps += model_steps(site, model, model_admin, obj, undeclared)
    for pattern in site.get_urls():
        if isinstance(pattern, URLResolver) or pattern.name in SITE_BUILTINS:
            continue
        assert isinstance(pattern, URLPattern)
        if pattern.name not in CUSTOM_VIEWS:
            undeclared.append(pattern.name)
            continue
        spec = CUSTOM_VIEWS[pattern.name]
        args = spec["site_args"]() if "site_args" in spec else []
        steps.append({"url": reverse(f"{site.name}:{pattern.name}", args=args), "data": spec.get("data", {}),
                      **{m: all_of(spec[m]) for m in ("GET", "POST")}})
    assert not undeclared, f"custom admin views with no declared permission (see CUSTOM_VIEWS): {undeclared}"
    return steps


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_no_role_writes_what_it_has_no_right_to(django_user_model):
    boss = staff_user(django_user_model, "walk-boss", superuser=True)
    seed(boss)
    site = admin.site
    site.get_urls()  # loads the apps' admin modules
    users = {role: staff_user(django_user_model, f"walk-{role or 'nogroup'}".replace(" ", "-"), role)
             for role in ROLES}
    clients = {role: Client() for role in ROLES}
    for role, c in clients.items():
        c.force_login(users[role])
    boss_client = Client()
    boss_client.force_login(boss)
    steps = walk(site, boss)
    for step in steps:  # what an allowed POST would send: the page's own form, filled as it stands
        if step.get("harvest"):
            page = boss_client.get(step["url"])
            assert page.status_code < 500, step["url"]
            step["data"] = {**WALK_FIELDS, **form_payload(page)}
        step.setdefault("data", WALK_FIELDS)
        step["data"] = {**WALK_FIELDS, **step["data"]}
    baseline = snapshot()
    checked, failures = 0, []
    for step in steps:
        for method in step.get("methods", ("GET", "POST")):
            for role in ROLES:
                user = users[role]
                if step[method](user):
                    continue  # allowed: what it does is the screen's own tests' business
                c = clients[role]
                response = c.get(step["url"]) if method == "GET" else c.post(step["url"], step["data"])
                checked += 1
                where = f"{role or 'no group'} {method} {step['url']} {step.get('label', '')}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code}")
                elif not refused(response):
                    after = snapshot()
                    if after != baseline:
                        changed = [k for k in after if after[k] != baseline.get(k)]
                        failures.append(f"{where}: answered {response.status_code} and changed {changed}")
                        baseline = after
    walked = sum(len(step.get("methods", ("GET", "POST"))) for step in steps) * len(ROLES)
    print(f"walked {walked} (endpoint, role, method) combinations; {checked} lacked the right: checked")
    assert not failures, "\n".join(failures)
    assert checked > 500
