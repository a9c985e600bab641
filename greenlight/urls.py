"""Top-level URL routes."""
from django.contrib import admin
from django.urls import path

from sync.observability import views as observability

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", observability.metrics, name="metrics"),
    path("health/", observability.health, name="health"),
]
