"""The admin, configured with GreenLight's own site (dashboard index, back-office pages)."""
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class GreenLightAdminConfig(AdminConfig):
    default_site = "greenlight.admin_site.GreenLightAdminSite"

    def ready(self):
        super().ready()
        from sync.access_groups import sync_access_groups

        # Once per migrate/flush: keep the staff groups and their permissions in step with the models.
        post_migrate.connect(sync_access_groups, sender=self, dispatch_uid="greenlight-access-groups")
