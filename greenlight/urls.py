"""Top-level URL routes: the admin, the trigger API and its task status, metrics and health."""
from django.contrib import admin
from django.urls import path

from sync.observability import views as observability
from sync.web.api import task_status, trigger_sync

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/sync/trigger", trigger_sync, name="api-sync-trigger"),
    path("api/sync/tasks/<str:task_id>", task_status, name="api-sync-task"),
    path("metrics", observability.metrics, name="metrics"),
    path("health/", observability.health, name="health"),
]
