"""Sync screens: runs, errors, outbox and dead letters, flags, status mappings, review queues, API tokens,
the audit log, "sync now". May import the engine, policies, loaders, models and the outbox's staff actions."""
from . import access, alerts, audit, djangoq, flags, freshness, lockouts, review, runs, status  # noqa: F401
