"""The staff groups of the back office and the permissions each holds (superusers need no group). Kept in
step by a post_migrate hook; the data migration 0005_access_groups created them from its own frozen copy.
"""
from __future__ import annotations

VIEWERS = "Viewers"
OPERATORS = "Operators"
MAPPING_EDITORS = "Mapping editors"

# Every group may look at everything in these apps; "view_*" permissions only.
VIEW_APPS = ("warehouse", "sync", "django_q", "admin")

# Permissions that no model's Meta declares: django-import-export's import and export rights on the
# customer mappings (settings IMPORT_EXPORT_*_PERMISSION_CODE).
EXTRA_PERMISSIONS = {
    ("warehouse", "customermapping"): [
        ("import_customermapping", "Can import customer mappings"),
        ("export_customermapping", "Can export customer mappings"),
    ],
}

GROUP_PERMISSIONS: dict[str, list[str]] = {
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


def apply_access_groups(apps, using: str = "default") -> None:
    """Create the groups (and any missing permission rows) and grant their permissions; only adds.

    ``apps`` is the migration state's registry inside a migration, the global one elsewhere.
    """
    from django.contrib.auth.management import create_permissions

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
        try:
            apps.get_model(app_label, model)
        except LookupError:
            continue
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
                Permission.objects.db_manager(using).filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.add(*wanted)


# Models added later get their view permission here, and a flushed test database gets its groups back.
def sync_access_groups(sender, using="default", apps=None, **kwargs) -> None:
    """post_migrate receiver: keep the groups' permissions in step with the installed models."""
    from django.apps import apps as global_apps
    from django.db import DEFAULT_DB_ALIAS, router

    if not router.allow_migrate(using or DEFAULT_DB_ALIAS, "auth"):
        return
    apps = apps or global_apps
    try:
        apps.get_model("auth", "Group")
    except LookupError:
        return
    apply_access_groups(global_apps, using=using)
