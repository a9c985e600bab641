"""Top-level URL routes: the admin (back office) and the HTTP trigger for other systems."""
from django.contrib import admin
from django.urls import path

from sync.api import trigger_sync

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/sync/trigger", trigger_sync, name="api-sync-trigger"),
]
