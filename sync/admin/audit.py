"""The audit log: every change made through the back office (Django's admin log), read-only."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.utils.html import format_html

from greenlight.admin_tools import ReadOnlyAdminMixin


@admin.register(LogEntry)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("action_time", "user", "content_type", "object_link", "action", "message")
    list_filter = ("action_flag", "content_type", ("user", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "content_type")
    search_fields = ("object_repr", "change_message", "user__username")
    date_hierarchy = "action_time"
    list_per_page = 50

    @admin.display(description="Object")
    def object_link(self, obj):
        url = obj.get_admin_url()
        return format_html('<a href="{}">{}</a>', url, obj.object_repr) if url else obj.object_repr

    @admin.display(description="Action", ordering="action_flag")
    def action(self, obj):
        return {1: "Added", 2: "Changed", 3: "Deleted"}.get(obj.action_flag, obj.action_flag)

    @admin.display(description="What and why")
    def message(self, obj):
        return obj.get_change_message()
