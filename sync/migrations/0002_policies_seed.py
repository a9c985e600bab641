"""Seed the default SF → PW status mappings and the sync schedule (both idempotent, never overwriting
staff edits)."""
from django.db import migrations


def seed(apps, schema_editor):
    from sync.policies.status import seed_status_mappings
    from sync.engine.tasks import ensure_schedule

    seed_status_mappings(apps.get_model("sync", "StatusMapping"))
    ensure_schedule(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_policies"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
