"""Alert history (read-only) and the "send a test alert" action, which needs ``sync.trigger_sync``."""
from __future__ import annotations

from django.contrib import admin, messages

from greenlight.admin_tools import ReadOnlyAdminMixin
from sync.models import Alert
from sync.observability.alerts import send_test_alert


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("condition", "state", "first_seen", "last_seen", "resolved_at", "sent_to", "delivered")
    list_filter = ("state", "condition", "delivered")
    search_fields = ("condition", "message")
    date_hierarchy = "first_seen"
    readonly_fields = ("condition", "state", "message", "first_seen", "last_seen", "resolved_at", "sent_to",
                       "delivered", "delivery_result")
    actions = ["send_test"]
    list_per_page = 50

    def has_trigger_permission(self, request) -> bool:
        return request.user.has_perm("sync.trigger_sync")

    @admin.action(description="Send a test alert to every ALERT_URLS target", permissions=["trigger"])
    def send_test(self, request, queryset):
        alert = send_test_alert(request.user.get_username())
        level = messages.ERROR if alert.delivered is False else messages.SUCCESS
        self.message_user(request, f"Test alert {alert.pk}: {alert.delivery_result}", level)
