"""Logs with run context, secret scrubbing, /metrics and /health. The logging half imports nothing of the
project (settings name it); metrics, health and views may import models and policies."""

# The logging half (context, scrub, logformat) is pure Python so settings.LOGGING can name it before
# Django's apps load; metrics, health and views read the database and are imported lazily by urls.py.
