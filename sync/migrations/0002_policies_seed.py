"""Seed the default SF → PW status mappings and the sync schedule (both idempotent, never overwriting
staff edits). The rows are frozen here as they were when this migration was written; the code that keeps
them today (sync.policies.status, sync.engine.tasks) may change without changing what this migration did."""
from datetime import datetime

from croniter import croniter
from django.db import migrations, transaction
from django.utils import timezone

#: (SF status name, SF code, SF category, is closed); the PW status written is the SF name itself.
STATUS_MAPPINGS = (
    ("Unscheduled", "01_UNS", "OPEN_ACTIVE", False),
    ("Scheduled", "02_SCH", "OPEN_ACTIVE", False),
    ("Dispatched", "03_DSP", "OPEN_ACTIVE", False),
    ("Delayed", "04_DEL", "OPEN_ACTIVE", False),
    ("On The Way", "05_OTW", "OPEN_ACTIVE", False),
    ("On Site", "06_ONS", "OPEN_ACTIVE", False),
    ("Started", "", "OPEN_ACTIVE", False),
    ("Paused", "", "OPEN_ACTIVE", False),
    ("Resumed", "", "OPEN_ACTIVE", False),
    ("Partially Completed", "", "OPEN_ACTIVE", False),
    ("Completed", "", "CLOSED", True),
    ("Invoiced", "", "CLOSED", True),
    ("Paid in Full", "", "CLOSED", True),
    ("Job Closed", "", "CLOSED", True),
    ("Cancelled", "", "CANCELLED", True),
)

SCHEDULE_NAME = "greenlight-sync"
SCHEDULE_CRON = "*/30 12-23 * * 1-5"
# The task's path when this was written; 0007_task_paths repoints it to sync.engine.tasks.
SCHEDULE_FUNC = "sync.tasks.run_scheduled_sync"
CRON_TYPE = "C"  # django_q Schedule.CRON


def seed_status_mappings(StatusMapping, using):
    rows = StatusMapping.objects.using(using)
    for name, code, category, closed in STATUS_MAPPINGS:
        by_name = rows.filter(sf_status__iexact=name)
        by_code = rows.filter(sf_code=code) if code else rows.none()
        if by_name.exists() or by_code.exists():
            continue
        rows.create(sf_status=name, sf_code=code, sf_category=category, pw_status=name, is_closed=closed)


def ensure_schedule(Schedule, using):
    """One schedule by name: extra copies removed, a paused one (repeats 0) kept paused."""
    schedules = Schedule.objects.using(using)
    with transaction.atomic(using=using):
        rows = list(schedules.select_for_update().filter(name=SCHEDULE_NAME).order_by("pk"))
        for extra in rows[1:]:
            extra.delete()
        current = rows[0] if rows else None
        defaults = {"func": SCHEDULE_FUNC, "schedule_type": CRON_TYPE, "cron": SCHEDULE_CRON}
        if current is None or current.cron != SCHEDULE_CRON or current.schedule_type != CRON_TYPE:
            defaults["next_run"] = croniter(SCHEDULE_CRON, timezone.now()).get_next(datetime)
        schedules.update_or_create(
            name=SCHEDULE_NAME, defaults=defaults, create_defaults={**defaults, "repeats": -1},
        )


def seed(apps, schema_editor):
    using = schema_editor.connection.alias
    seed_status_mappings(apps.get_model("sync", "StatusMapping"), using)
    ensure_schedule(apps.get_model("django_q", "Schedule"), using)


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_policies"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
