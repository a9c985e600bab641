"""The admin, configured with GreenLight's own site (dashboard index, back-office pages)."""
from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks
from django.db.models.signals import post_migrate


def check_admin_modules(app_configs, **kwargs):
    """Django's admin checks, over the apps' admin modules (loaded first if nothing has yet)."""
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class GreenLightAdminConfig(SimpleAdminConfig):
    """The apps' admin modules are not loaded at startup but when the admin is first needed: its URLs
    (the site's ``get_urls``, the web server at start), or the admin system checks. A process that never
    serves the admin (``manage.py sync``, the django-q2 worker) does not carry them and what they import
    (django-import-export with tablib's formats and openpyxl, the admin forms): about 20 MB resident."""

    default_site = "greenlight.admin_site.GreenLightAdminSite"

    def ready(self):
        # SimpleAdminConfig's checks, with discovery before the ModelAdmins are checked.
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_admin_modules, checks.Tags.admin)
        # Imported in ready(): sync.admin's modules import models, which cannot load while apps.py does.
        from sync.admin.groups import sync_access_groups

        # Once per migrate/flush: keep the staff groups and their permissions in step with the models.
        post_migrate.connect(sync_access_groups, sender=self, dispatch_uid="greenlight-access-groups")
