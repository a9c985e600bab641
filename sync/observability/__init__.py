"""Operational visibility of the sync: structured logs with run context, secret scrubbing,
Prometheus metrics and the load-balancer health check.
"""

# The logging half (context, scrub, logformat) is pure Python so settings.LOGGING can name it before
# Django's apps load; metrics, health and views read the database and are imported lazily by urls.py.
