"""Top-level URL routes: the admin, the trigger API, metrics and health."""
from django.contrib import admin
from django.urls import path

from sync.observability import views as observability
from sync.web.api import trigger_sync

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/sync/trigger", trigger_sync, name="api-sync-trigger"),
    path("metrics", observability.metrics, name="metrics"),
    path("health/", observability.health, name="health"),
]
