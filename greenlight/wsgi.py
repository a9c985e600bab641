"""WSGI entry point for gunicorn."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenlight.settings")
application = get_wsgi_application()

# The web process serves the admin: load its modules now rather than on the first request.
from django.contrib import admin  # noqa: E402 - needs the settings and apps set up above

admin.autodiscover()
