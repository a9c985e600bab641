"""What the dashboard (the admin index) shows: the last runs with their steps, open problems at a glance,
freshness, runs, errors and jobs created per day over the last 30 days, and customer-mapping coverage."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from sync.engine.preflight import last_result
from sync.models import DuplicateCandidate, OutboxItem, SyncError, SyncRun, UnitCorrection
from sync.observability.freshness import measure
from sync.policies.flags import FlagError, read_flags
from sync.web.charts import Series, daily_bars_svg
from sync.web.coverage import dashboard_coverage
from warehouse.queries import unmapped_buildings

CHART_DAYS = 30
LAST_RUNS = 10


def _per_day(queryset, field: str, since) -> dict:
    rows = (queryset.filter(**{f"{field}__gte": since}).annotate(day=TruncDate(field)).values("day")
            .annotate(n=Count("pk")).order_by())
    return {row["day"]: row["n"] for row in rows}


def activity_chart(now=None):
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    since = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    runs = _per_day(SyncRun.objects.all(), "started_at", since)
    errors = _per_day(SyncError.objects.all(), "timestamp", since)
    jobs = _per_day(OutboxItem.objects.filter(kind=OutboxItem.Kind.JOB, state=OutboxItem.State.SENT),
                    "sent_at", since)
    series = [
        Series("Runs", [runs.get(d, 0) for d in days], "#417690"),
        Series("Errors", [errors.get(d, 0) for d in days], "#ba2121"),
        Series("Jobs created", [jobs.get(d, 0) for d in days], "#2e7d32"),
    ]
    title = f"Runs, errors and jobs created over the last {CHART_DAYS} days"
    return daily_bars_svg(days, series, title=title)


def problems() -> list[dict]:
    """Open problems, each with a count, a link to the screen that resolves it, and a severity."""
    try:
        flags = read_flags()
        flag_error = ""
    except FlagError as exc:
        flags, flag_error = None, str(exc)
    changelist = "admin:{}_{}_changelist".format
    items = [
        {"label": "Unmapped buildings", "count": unmapped_buildings().count(),
         "url": reverse("admin:warehouse_customermapping_unmapped"),
         "help": "their work orders wait for an SF customer"},
        {"label": "Work orders held for a unit problem",
         "count": UnitCorrection.objects.filter(state=UnitCorrection.State.HELD).count(),
         "url": reverse(changelist("sync", "unitcorrection")), "help": "choose the right unit"},
        {"label": "Duplicate candidates",
         "count": DuplicateCandidate.objects.filter(state=DuplicateCandidate.State.PENDING).count(),
         "url": reverse(changelist("sync", "duplicatecandidate")), "help": "link or push"},
        {"label": "Dead letters", "count": OutboxItem.objects.filter(state=OutboxItem.State.DEAD).count(),
         "url": reverse(changelist("sync", "deadletter")), "help": "writes that failed for good"},
        {"label": "Writes held for review",
         "count": OutboxItem.objects.filter(state=OutboxItem.State.HELD, review=True).count(),
         "url": reverse(changelist("sync", "outboxitem")) + "?review__exact=1&state__exact=held",
         "help": "conflicts between PropertyWare and ServiceFusion"},
    ]
    if flags is None:
        items.append({"label": "A feature flag cannot be read", "count": 1, "help": flag_error,
                      "url": reverse(changelist("sync", "featureflag"))})
    else:
        items.append({"label": "Safe mode on", "count": int(flags.safe_mode), "flag": True,
                      "url": reverse("admin:sync_featureflag_set", args=["SAFE_MODE"]),
                      "help": "writes are validated; unit problems are held"})
        items.append({"label": "Dry run on", "count": int(flags.dry_run), "flag": True,
                      "url": reverse("admin:sync_featureflag_set", args=["DRY_RUN"]),
                      "help": "nothing is written to PropertyWare or ServiceFusion"})
    return items


def last_runs(limit: int = LAST_RUNS):
    runs = list(SyncRun.objects.select_related("user").prefetch_related("steps")
                .annotate(n_errors=Count("errors", distinct=True))
                .order_by("-started_at", "-id")[:limit])  # an aggregate drops Meta.ordering
    for run in runs:
        # an extra attribute for the template
        run.step_list = sorted(run.steps.all(), key=lambda s: (s.position, s.pk))  # type: ignore[attr-defined]
    return runs


def queue_state() -> dict:
    from django_q.models import Failure, OrmQ, Schedule

    return {
        "queued": OrmQ.objects.count(),
        "failed": Failure.objects.count(),
        "schedules": Schedule.objects.count(),
    }


def dashboard_context(request) -> dict:
    user = request.user
    if not user.is_active or not user.is_staff:
        return {}
    context = {"gl_dashboard": True, "can_trigger": user.has_perm("sync.trigger_sync")}
    if user.has_perm("sync.view_syncrun"):
        context.update(runs=last_runs(), chart=activity_chart(), problems=problems())
        context["preflight"] = last_result()  # stored by doctor or a writing run; no API call here
        try:
            context["freshness"] = measure(read_flags())
        except FlagError:
            pass  # the problems list already says a flag cannot be read
    if user.has_perm("warehouse.view_customermapping"):
        try:
            context["coverage"] = dashboard_coverage(read_flags())
        except FlagError:
            pass  # the problems list already says a flag cannot be read
        context["can_accept"] = user.has_perm("warehouse.change_customermapping")
    if user.has_perm("django_q.view_ormq"):
        context["queue"] = queue_state()
    try:
        context["dry_run_flag"] = read_flags().dry_run
    except FlagError:
        context["dry_run_flag"] = None
    return context
