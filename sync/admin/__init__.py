"""Sync screens: runs, errors, outbox and dead letters, feature flags, status mappings, the duplicate
and unit-correction review queues, API tokens, the audit log, and "sync now"."""
from . import access, audit, flags, review, runs, status  # noqa: F401
