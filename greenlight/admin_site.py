"""GreenLight's admin site: the dashboard is its index; "sync now", queued-task status and the
analytics screens live here too."""
from __future__ import annotations

from django.contrib import admin
from django.urls import path, reverse

from sync.admin.actions import sync_now_view
from sync.admin.queued import queued_task_view
from sync.web import analytics, analytics_detail
from sync.web.analytics_common import SCREENS
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

    def get_app_list(self, request, app_label=None):
        """The apps, then an "Analytics" section listing the screens the user may see (menu and dashboard)."""
        apps = super().get_app_list(request, app_label)
        screens = [(name, label) for name, label, perm in SCREENS if request.user.has_perm(perm)]
        if app_label is None and screens:
            apps.append({
                "name": "Analytics", "app_label": "analytics", "app_url": reverse(f"admin:{screens[0][0]}"),
                "has_module_perms": True,
                "models": [{"name": label, "object_name": name, "admin_url": reverse(f"admin:{name}"),
                            "add_url": None, "view_only": True, "perms": {"view": True}}
                           for name, label in screens],
            })
        return apps

    def get_urls(self):
        # The apps' admin modules load with the URLconf, not at startup (greenlight.apps).
        admin.autodiscover()
        screen = self.admin_view
        return [
            path("sync-now/", screen(sync_now_view), name="sync_now"),
            path("tasks/<str:task_id>/", screen(queued_task_view), name="sync_queued_task"),
            path("analytics/open-work-orders/", screen(analytics.open_by_portfolio),
                 name="analytics_open_by_portfolio"),
            path("analytics/time-in-status/", screen(analytics.time_in_status),
                 name="analytics_time_in_status"),
            path("analytics/ages/", screen(analytics.sla_ages), name="analytics_sla_ages"),
            path("analytics/jobs/", screen(analytics.jobs_per_day), name="analytics_jobs_per_day"),
            path("analytics/work-orders/<int:work_order_id>/", screen(analytics_detail.work_order_history),
                 name="analytics_work_order"),
            path("analytics/portfolios/<int:portfolio_id>/", screen(analytics_detail.portfolio_open_work),
                 name="analytics_portfolio"),
            path("coverage/accept/", self.admin_view(accept_suggestions_view), name="coverage_accept"),
            path("coverage/record/", self.admin_view(record_coverage_view), name="coverage_record"),
        ] + super().get_urls()
