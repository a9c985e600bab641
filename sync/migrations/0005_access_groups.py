"""Staff groups of the back office (viewers, operators, mapping editors) with their permissions, frozen as
they were when this migration was written; the post_migrate hook in sync.admin.groups keeps them in step
with models added later."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWERS = "Viewers"
OPERATORS = "Operators"
MAPPING_EDITORS = "Mapping editors"

# Every group may look at everything in these apps; "view_*" permissions only.
VIEW_APPS = ("warehouse", "sync", "django_q", "admin")

# Permissions that no model's Meta declares: django-import-export's import and export rights on the
# customer mappings.
EXTRA_PERMISSIONS = {
    ("warehouse", "customermapping"): [
        ("import_customermapping", "Can import customer mappings"),
        ("export_customermapping", "Can export customer mappings"),
    ],
}

GROUP_PERMISSIONS = {
    VIEWERS: [],
    OPERATORS: [
        "sync.trigger_sync",
        "sync.change_featureflag",
        "sync.add_featureflag",
        "sync.change_statusmapping",
        "sync.add_statusmapping",
        "sync.change_duplicatecandidate",
        "sync.change_unitcorrection",
        "sync.change_outboxitem",
    ],
    MAPPING_EDITORS: [
        "warehouse.add_customermapping",
        "warehouse.change_customermapping",
        "warehouse.import_customermapping",
        "warehouse.export_customermapping",
        "warehouse.add_mappingimport",
        "warehouse.change_mappingimport",
    ],
}


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    # Inside a migration the post_migrate signal that creates permissions has not run yet.
    for app_config in apps.get_app_configs():
        if app_config.label in VIEW_APPS:
            # A migration's app stubs have no models module; create_permissions skips such apps.
            had = getattr(app_config, "models_module", None)
            app_config.models_module = had or True
            try:
                create_permissions(app_config, apps=apps, verbosity=0, using=using)
            finally:
                app_config.models_module = had
    for (app_label, model), extra in EXTRA_PERMISSIONS.items():
        ct, _ = ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)
        for codename, name in extra:
            Permission.objects.db_manager(using).get_or_create(
                content_type=ct, codename=codename, defaults={"name": name}
            )

    views = Permission.objects.db_manager(using).filter(
        content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
    )
    for group_name, names in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.db_manager(using).get_or_create(name=group_name)
        wanted = list(views)
        for dotted in names:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(
                Permission.objects.db_manager(using).filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.add(*wanted)


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
