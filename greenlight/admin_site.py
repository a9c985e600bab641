"""GreenLight's admin site: the dashboard is its index; "sync now" lives here too."""
from __future__ import annotations

from django.contrib import admin
from django.urls import path

from sync.admin.actions import sync_now_view
from sync.web.coverage import accept_suggestions_view, record_coverage_view
from sync.web.dashboard import dashboard_context


class GreenLightAdminSite(admin.AdminSite):
    site_header = "GreenLight back office"
    site_title = "GreenLight"
    index_title = "Dashboard"
    index_template = "admin/greenlight/dashboard.html"

    def index(self, request, extra_context=None):
        context = dashboard_context(request)
        context.update(extra_context or {})
        return super().index(request, extra_context=context)

    def get_urls(self):
        # The apps' admin modules load with the URLconf, not at startup (greenlight.apps).
        admin.autodiscover()

        return [
            path("sync-now/", self.admin_view(sync_now_view), name="sync_now"),
            path("coverage/accept/", self.admin_view(accept_suggestions_view), name="coverage_accept"),
            path("coverage/record/", self.admin_view(record_coverage_view), name="coverage_record"),
        ] + super().get_urls()
