"""Staff groups of the back office (viewers, operators, mapping editors) with their permissions."""
from django.db import migrations


def create_groups(apps, schema_editor):
    from sync.admin.groups import apply_access_groups

    apply_access_groups(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0004_api_tokens"),
        ("warehouse", "0003_mappingimport"),
        ("django_q", "__latest__"),
        ("admin", "__latest__"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
