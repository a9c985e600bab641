"""Alert history (read-only) and the "send a test alert" action, which needs ``sync.trigger_sync`` and is
queued (delivery waits on every ALERT_URLS target)."""
from __future__ import annotations

from django.contrib import admin

from greenlight.admin_tools import ReadOnlyAdminMixin
from sync.admin.queued import queued_message
from sync.engine import tasks
from sync.models import Alert


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
        queued_message(request, "A test alert", tasks.enqueue_test_alert(user=request.user))
