"""The django-q2 entry points moved from ``sync.tasks`` to ``sync.engine.tasks``: repoint schedules and
queued tasks that still name the old path (frozen strings, no live code)."""
from django.db import migrations

OLD, NEW = "sync.tasks.", "sync.engine.tasks."


def repoint(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for row in schedule.objects.filter(func__startswith=OLD):
        row.func = NEW + row.func[len(OLD):]
        row.save(update_fields=["func"])


def point_back(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for row in schedule.objects.filter(func__startswith=NEW):
        row.func = OLD + row.func[len(NEW):]
        row.save(update_fields=["func"])


class Migration(migrations.Migration):
    dependencies = [("sync", "0006_outbox_in_review_index")]
    operations = [migrations.RunPython(repoint, point_back)]
